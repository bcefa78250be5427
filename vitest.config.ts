import swc from 'unplugin-swc';
import { defineConfig } from 'vitest/config';

// SWC compiles the decorators with their metadata (esbuild, Vite's default, drops it).
export default defineConfig({
  plugins: [swc.vite({ module: { type: 'es6' } })],
  test: {
    testTimeout: 20_000,
    hookTimeout: 30_000,
    pool: 'forks',
    projects: [
      {
        extends: true,
        // No server at all: a unit test that needs one belongs to e2e.
        test: { name: 'unit', include: ['test/unit/**/*.spec.ts', 'lib/**/*.spec.ts'] },
      },
      {
        extends: true,
        // The MongoDB-compatible server the end-to-end suites share; each starts its own Redis.
        test: {
          name: 'e2e',
          include: ['test/e2e/**/*.spec.ts', 'test/browser/**/*.spec.ts'],
          exclude: ['test/e2e/flood.e2e.spec.ts'],
          globalSetup: ['test/global-setup.ts'],
        },
      },
      {
        extends: true,
        // The flood suite bounds the event-loop delay a flooder adds: with other suites beside it on
        // a 2-core machine, their load alone (loop delays of 90–160 ms seen while nothing flooded)
        // failed it. It runs alone, after everything else.
        test: {
          name: 'flood',
          include: ['test/e2e/flood.e2e.spec.ts'],
          globalSetup: ['test/global-setup.ts'],
          sequence: { groupOrder: 2 },
        },
      },
      {
        extends: true,
        // The fuzz suite bounds the loop delay and a bystander's latency while several flooders run:
        // alone too, after the flood suite, for the same reason.
        test: {
          name: 'fuzz',
          include: ['test/fuzz/**/*.spec.ts'],
          globalSetup: ['test/global-setup.ts'],
          sequence: { groupOrder: 3 },
        },
      },
      {
        extends: true,
        // The chaos soak starts its own servers and runs alone, after everything else: it needs the machine to itself.
        test: { name: 'soak', include: ['test/soak/**/*.spec.ts'], sequence: { groupOrder: 1 } },
      },
    ],
  },
});
