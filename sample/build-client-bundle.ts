import { build, type BuildOptions } from 'esbuild';
import { join } from 'node:path';
import { projectRoot } from './project-root.js';

const clientEntry = join(projectRoot(), 'lib/client/index.ts');

/**
 * Bundles the client for browsers into the sample's public folder, with source maps: an ES module
 * (`sss-client.js`) and a single-file script (`sss-client.iife.js`, global `SssClientLib`).
 */
export async function buildClientBundle(publicDir: string): Promise<void> {
  const common: BuildOptions = {
    entryPoints: [clientEntry],
    bundle: true,
    platform: 'browser',
    target: 'es2020',
    sourcemap: true,
    // Browsers have a WebSocket of their own; `ws` is only loaded by Node.
    external: ['ws'],
    logLevel: 'warning',
  };
  await Promise.all([
    build({ ...common, format: 'esm', outfile: `${publicDir}/vendor/sss-client.js` }),
    build({ ...common, format: 'iife', globalName: 'SssClientLib', outfile: `${publicDir}/vendor/sss-client.iife.js` }),
  ]);
}
