import { workerData } from 'node:worker_threads';

/** What runInThread gives a job thread: the job's input and the flag its parent sets to stop it. */
export interface JobThreadData<T> {
  input: T;
  /** One Int32 in shared memory: 0 while the job may run, 1 once its parent asked it to stop. */
  stop: Int32Array;
}

/** Thrown at a job thread's checkpoint once its parent asked it to stop (a cancel, a time limit). */
export class StopRequested extends Error {
  constructor() {
    super('stop requested');
  }
}

/**
 * Inside a job thread: its input, and the checkpoint its work calls between units (a layer, a
 * batch, every few thousand simulator events), which throws StopRequested once the parent set
 * the stop flag. A shared flag, not a message: the work is synchronous for long stretches, and a
 * message would wait for the thread's event loop.
 */
export function jobThread<T>(): { input: T; checkpoint: () => void; stopRequested: () => boolean } {
  const data = workerData as JobThreadData<T>;
  const stopRequested = (): boolean => Atomics.load(data.stop, 0) !== 0;
  return {
    input: data.input,
    stopRequested,
    checkpoint: () => {
      if (stopRequested()) throw new StopRequested();
    },
  };
}
