import { Worker } from 'node:worker_threads';
import { InputError, type InputIssue } from '@kvplan/sim';

/** What a job thread posts back: progress, then one result, input error or error. */
export type ThreadMessage<R extends { type: 'result' }> =
  | { type: 'progress'; fraction: number }
  | R
  | { type: 'input-error'; issues: InputIssue[] }
  | { type: 'error'; message: string };

/**
 * Runs one job in its own worker thread, so heavy work never blocks the event loop that renews
 * BullMQ locks. Bad input rejects with an InputError (the job fails without retries); a crash or
 * an early exit rejects with an Error naming `what`. The thread is terminated once settled.
 */
export function runInThread<R extends { type: 'result' }, T>(
  script: string,
  workerData: unknown,
  onProgress: (fraction: number) => void,
  resultOf: (msg: R) => T,
  what: string,
): Promise<T> {
  return new Promise((resolve, reject) => {
    const thread = new Worker(script, { workerData });
    let settled = false;
    const settle = (fn: () => void) => {
      if (settled) return;
      settled = true;
      fn();
      void thread.terminate();
    };
    thread.on('message', (msg: ThreadMessage<R>) => {
      if (msg.type === 'progress') onProgress(msg.fraction);
      else if (msg.type === 'input-error') settle(() => reject(new InputError(msg.issues)));
      else if (msg.type === 'error') settle(() => reject(new Error(msg.message)));
      else settle(() => resolve(resultOf(msg as R)));
    });
    thread.on('error', (err) => settle(() => reject(err)));
    thread.on('exit', (code) => settle(() => reject(new Error(`${what} thread exited with code ${code}`))));
  });
}
