import { describe, expect, it } from 'vitest';
import { WorkerConfigError, loadWorkerConfig } from '../src/config';

describe('loadWorkerConfig', () => {
  it('names every bad variable', () => {
    try {
      loadWorkerConfig({
        DATABASE_URL: 'postgres://h/db',
        QUEUES: 'simulate,nope',
        STALLED_INTERVAL_MS: '5',
      });
      expect.unreachable();
    } catch (e) {
      const p = (e as WorkerConfigError).problems.join('\n');
      expect(p).toMatch(/REDIS_URL: required/);
      expect(p).toMatch(/QUEUES: expected a comma list/);
      expect(p).toMatch(/STALLED_INTERVAL_MS: expected an integer/);
    }
  });
});
