// Tests compile through SWC, not esbuild: esbuild emits no decorator metadata, which TypeORM and
// Nest read (see apps/api/README.md, "Decorators and metadata").
import swc from 'unplugin-swc';
import { defineConfig } from 'vitest/config';

export default defineConfig({
  plugins: [swc.vite({ tsconfigFile: '../tsconfig.base.json' })],
  test: {
    include: ['test/**/*.spec.ts', 'test/**/*.int-spec.ts'],
    globalSetup: ['test/global-setup.ts'],
    fileParallelism: false,
    testTimeout: 20_000,
    hookTimeout: 30_000,
  },
});
