import * as fs from 'node:fs';
import * as os from 'node:os';
import { describe, expect, it } from 'vitest';
import { ThreadSimRunner } from '../src/sim/sim-runner';
import { threadScript } from '../src/thread-bundle';

const SPEC = {
  model: 'meta-llama/Llama-3.1-8B',
  gpu: 'h100-sxm',
  workload: {
    arrival: { process: 'poisson', rate: 4 },
    numRequests: 20,
    inputTokens: { fixed: 64 },
    outputTokens: { fixed: 8 },
  },
};

describe('job threads run bundled JavaScript', () => {
  it('bundles every thread entry once, with the workspace libraries in and no SWC', () => {
    const sim = threadScript('sim');
    expect(threadScript('sim')).toBe(sim);
    for (const name of ['sim', 'fusion', 'fusion-layer'] as const) {
      const code = fs.readFileSync(threadScript(name), 'utf8');
      expect(code).not.toMatch(/@swc/);
      expect(code).not.toMatch(/require\("@kvplan\//);
    }
  });

  // A thread that had loaded SWC's native binding crashed the whole process when it ended: with
  // the sources run through @swc-node/register this process died within a few threads.
  it('starts and ends thirty simulation threads in a row without taking the process down', async () => {
    const runner = new ThreadSimRunner(os.tmpdir(), { maxEvents: 1e6, maxWallMs: 60_000 });
    for (let i = 0; i < 30; i++) {
      const run = await runner.run(SPEC, () => undefined);
      expect(run.result.completed).toBe(20);
    }
  }, 120_000);
});
