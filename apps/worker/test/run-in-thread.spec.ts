import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { JobStoppedError, runInThread } from '../src/run-in-thread';

const SLOW_STOP = path.join(__dirname, 'fixtures', 'slow-stop.thread.js');

/** Runs the slow-stop thread, cancels it at its first progress and says how it ended and when. */
async function cancelled(busyMs: number, stopGraceMs: number) {
  const abort = new AbortController();
  let cancelledAt = 0;
  const err = await runInThread(
    SLOW_STOP,
    { busyMs },
    () => {
      cancelledAt = performance.now();
      abort.abort();
    },
    () => 'finished',
    'test job',
    { signal: abort.signal, stopGraceMs },
  ).catch((e: unknown) => e);
  expect(err).toBeInstanceOf(JobStoppedError);
  expect((err as JobStoppedError).message).toBe('test job stopped: the job was cancelled');
  return { how: (err as JobStoppedError).how, afterMs: performance.now() - cancelledAt };
}

describe('a job thread asked to stop', () => {
  it('is waited for within its grace period: it stops at its checkpoint, not terminated', async () => {
    const { how, afterMs } = await cancelled(600, 10_000);
    expect(how).toBe('checkpoint');
    expect(afterMs).toBeGreaterThanOrEqual(550);
    expect(afterMs).toBeLessThan(5_000);
  });

  it('is terminated once its grace period is over', async () => {
    const { how, afterMs } = await cancelled(10_000, 300);
    expect(how).toBe('terminated');
    expect(afterMs).toBeLessThan(5_000);
  });
});
