import { build } from 'esbuild';
import { fileURLToPath } from 'node:url';

const clientEntry = fileURLToPath(new URL('../../lib/client/index.ts', import.meta.url));

/** Bundles the client for the browser (ESM, with a source map) into the sample's public folder. */
export async function buildClientBundle(publicDir: string): Promise<void> {
  await build({
    entryPoints: [clientEntry],
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: 'es2020',
    sourcemap: true,
    // Browsers have a WebSocket of their own; `ws` is only loaded by Node.
    external: ['ws'],
    outfile: `${publicDir}/vendor/sss-client.js`,
    logLevel: 'warning',
  });
}
