import { Worker } from 'node:worker_threads';
import { InputError, type InputIssue } from '@kvplan/sim';
import type { JobThreadData } from './thread-stop';

/**
 * What a job thread posts back: progress, then one result, input error, limit or error; `stopped`
 * when it noticed at a checkpoint that its parent asked it to stop.
 */
export type ThreadMessage<R extends { type: 'result' }> =
  | { type: 'progress'; fraction: number }
  | R
  | { type: 'input-error'; issues: InputIssue[] }
  | { type: 'limit'; message: string }
  | { type: 'stopped' }
  | { type: 'error'; message: string };

/** A run stopped by its work budget, its wall-time limit or a cancel: failed, never retried. */
export class JobStoppedError extends Error {
  /**
   * How the thread ended: it stopped itself at a checkpoint (or on its own) after it was asked
   * to, or it was terminated after its grace period; null for a stop the thread itself reported.
   */
  constructor(
    message: string,
    readonly how: 'checkpoint' | 'terminated' | null = null,
  ) {
    super(message);
  }
}

export interface ThreadLimits {
  /** Stop the thread after this long. */
  timeoutMs?: number;
  /** Stop the thread when this aborts (the job was cancelled). */
  signal?: AbortSignal;
  /** How long a thread asked to stop may take to say so before it is terminated (STOP_GRACE_MS). */
  stopGraceMs?: number;
}

/**
 * How long a thread asked to stop may take to reach its next checkpoint, clean up and say so
 * before it is terminated.
 */
export const STOP_GRACE_MS = 3000;

/**
 * Runs one job in its own worker thread, so heavy work never blocks the event loop that renews
 * BullMQ locks. Bad input rejects with an InputError (the job fails without retries); a crash or
 * an early exit rejects with an Error naming `what`. The thread is terminated once settled.
 *
 * A cancel (`signal`) or the wall-time limit asks the thread to stop: a flag in shared memory
 * that the thread's checkpoints read between units of work (thread-stop.ts); it then ends what
 * it opened (layer threads, a model) and says `stopped`. One that has not within its grace period
 * is terminated. Either way the promise rejects with a JobStoppedError only once the thread is
 * gone, and whatever the thread answers after the request (even a finished result) is dropped.
 */
export function runInThread<R extends { type: 'result' }, T, I = unknown>(
  script: string,
  input: I,
  onProgress: (fraction: number) => void,
  resultOf: (msg: R) => T,
  what: string,
  limits: ThreadLimits = {},
): Promise<T> {
  return new Promise((resolve, reject) => {
    const stop = new Int32Array(new SharedArrayBuffer(Int32Array.BYTES_PER_ELEMENT));
    const workerData: JobThreadData<I> = { input, stop };
    const thread = new Worker(script, { workerData });
    let settled = false;
    let stopping: string | null = null;
    let grace: NodeJS.Timeout | undefined;
    const requestStop = (message: string) => {
      if (settled || stopping !== null) return;
      stopping = message;
      Atomics.store(stop, 0, 1);
      grace = setTimeout(() => stopped('terminated'), limits.stopGraceMs ?? STOP_GRACE_MS);
    };
    /** Settles a stop once the thread is gone. */
    const stopped = (how: 'checkpoint' | 'terminated') => {
      if (settled) return;
      settled = true;
      cleanup();
      void thread
        .terminate()
        .catch(() => undefined)
        .then(() => reject(new JobStoppedError(stopping!, how)));
    };
    const timer =
      limits.timeoutMs === undefined
        ? undefined
        : setTimeout(
            () =>
              requestStop(
                `${what} stopped: it ran past its wall-time limit of ${limits.timeoutMs! / 1000} s`,
              ),
            limits.timeoutMs,
          );
    const onAbort = () => requestStop(`${what} stopped: the job was cancelled`);
    const cleanup = () => {
      clearTimeout(timer);
      clearTimeout(grace);
      limits.signal?.removeEventListener('abort', onAbort);
    };
    if (limits.signal?.aborted) queueMicrotask(onAbort);
    limits.signal?.addEventListener('abort', onAbort);
    const settle = (fn: () => void) => {
      if (settled) return;
      settled = true;
      cleanup();
      fn();
      void thread.terminate();
    };
    thread.on('message', (msg: ThreadMessage<R>) => {
      if (msg.type === 'progress') {
        if (stopping === null) onProgress(msg.fraction);
      } else if (stopping !== null) stopped('checkpoint');
      else if (msg.type === 'input-error') settle(() => reject(new InputError(msg.issues)));
      else if (msg.type === 'limit') settle(() => reject(new JobStoppedError(msg.message)));
      else if (msg.type === 'error') settle(() => reject(new Error(msg.message)));
      else if (msg.type === 'stopped')
        settle(() => reject(new Error(`${what} thread stopped without being asked to`)));
      else settle(() => resolve(resultOf(msg as R)));
    });
    thread.on('error', (err) => (stopping !== null ? stopped('checkpoint') : settle(() => reject(err))));
    thread.on('exit', (code) =>
      stopping !== null
        ? stopped('checkpoint')
        : settle(() => reject(new Error(`${what} thread exited with code ${code}`))),
    );
  });
}
