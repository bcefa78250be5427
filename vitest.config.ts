import swc from 'unplugin-swc';
import { configDefaults, defineConfig } from 'vitest/config';

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
        test: {
          name: 'main',
          include: ['test/**/*.spec.ts', 'lib/**/*.spec.ts'],
          exclude: [...configDefaults.exclude, 'test/soak/**'],
          globalSetup: ['test/global-setup.ts'],
        },
      },
      {
        // The chaos soak runs alone, after everything else: it needs the machine to itself.
        extends: true,
        test: {
          name: 'soak',
          include: ['test/soak/**/*.spec.ts'],
          sequence: { groupOrder: 1 },
        },
      },
    ],
  },
});
