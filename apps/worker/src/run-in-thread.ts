import { Worker } from 'node:worker_threads';
import { InputError, type InputIssue } from '@kvplan/sim';

/** What a job thread posts back: progress, then one result, input error, limit or error. */
export type ThreadMessage<R extends { type: 'result' }> =
  | { type: 'progress'; fraction: number }
  | R
  | { type: 'input-error'; issues: InputIssue[] }
  | { type: 'limit'; message: string }
  | { type: 'error'; message: string };

/** A run stopped by its work budget, its wall-time limit or a cancel: failed, never retried. */
export class JobStoppedError extends Error {}

export interface ThreadLimits {
  /** Stop the thread after this long. */
  timeoutMs?: number;
  /** Stop the thread when this aborts (the job was cancelled). */
  signal?: AbortSignal;
}

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
  limits: ThreadLimits = {},
): Promise<T> {
  return new Promise((resolve, reject) => {
    const thread = new Worker(script, { workerData });
    let settled = false;
    const stop = (message: string) => settle(() => reject(new JobStoppedError(message)));
    const timer =
      limits.timeoutMs === undefined
        ? undefined
        : setTimeout(
            () => stop(`${what} stopped: it ran past its wall-time limit of ${limits.timeoutMs! / 1000} s`),
            limits.timeoutMs,
          );
    const onAbort = () => stop(`${what} stopped: the job was cancelled`);
    if (limits.signal?.aborted) queueMicrotask(onAbort);
    limits.signal?.addEventListener('abort', onAbort);
    const settle = (fn: () => void) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      limits.signal?.removeEventListener('abort', onAbort);
      fn();
      void thread.terminate();
    };
    thread.on('message', (msg: ThreadMessage<R>) => {
      if (msg.type === 'progress') onProgress(msg.fraction);
      else if (msg.type === 'input-error') settle(() => reject(new InputError(msg.issues)));
      else if (msg.type === 'limit') stop(msg.message);
      else if (msg.type === 'error') settle(() => reject(new Error(msg.message)));
      else settle(() => resolve(resultOf(msg as R)));
    });
    thread.on('error', (err) => settle(() => reject(err)));
    thread.on('exit', (code) => settle(() => reject(new Error(`${what} thread exited with code ${code}`))));
  });
}
