import { defineConfig } from 'vitest/config';

// Simulation-backed tests take seconds each; on a busy machine (CI runs the projects side by side)
// the 5 s default fails them for time, not for what they assert.
export default defineConfig({
  test: {
    testTimeout: 30_000,
  },
});
