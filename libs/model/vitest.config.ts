import { defineConfig } from 'vitest/config';

// Tests run on the wasm backend, chosen once here (the library itself never picks a backend).
export default defineConfig({
  test: {
    setupFiles: ['./test/setup.ts'],
    testTimeout: 30_000,
  },
});
