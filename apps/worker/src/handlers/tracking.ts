import { UnrecoverableError, type Job } from 'bullmq';
import { PayloadError } from '@kvplan/contracts';
import { InputError } from '@kvplan/sim';
import type { JobRepository } from '@kvplan/db';
import { JobStoppedError } from '../run-in-thread';

/** A job that cannot succeed however often it is retried (missing rows, a bad spec). */
export class PermanentJobError extends Error {}

/** Errors that must not be retried: BullMQ's UnrecoverableError fails the job at once. */
export function isPermanent(err: unknown): boolean {
  return (
    err instanceof JobStoppedError ||
    err instanceof PayloadError ||
    err instanceof InputError ||
    err instanceof PermanentJobError ||
    err instanceof UnrecoverableError
  );
}

/**
 * Absolute server paths (`/srv/kvplan/var/storage/traces/x.csv`) in an error shown to users: only
 * the file's name is kept.
 */
export function redactPaths(text: string): string {
  return text.replace(
    /(^|[\s'"`(=:,])(?:[A-Za-z]:)?[\\/](?:[^\s'"`()\\/:,]+[\\/])+([^\s'"`()\\/:,]*)/g,
    '$1…/$2',
  );
}

export function errorText(err: unknown): string {
  if (err instanceof InputError) return redactPaths(`bad input: ${err.message}`);
  return redactPaths(err instanceof Error ? err.message : String(err));
}

/**
 * How often a running job looks at its row for a cancel (a primary-key read): with the thread's
 * checkpoints, a cancelled job stops within about this plus one unit of its work.
 */
export const CANCEL_POLL_MS = 500;

/**
 * Runs `work` for a BullMQ job whose status row is `rowId`, and on failure writes the row:
 * `failed` on a permanent error or the last attempt, else back to `queued` (BullMQ retries with
 * backoff). Permanent errors are rethrown as UnrecoverableError so BullMQ does not retry them.
 * `work` gets a signal that aborts when the row finishes meanwhile (the job was cancelled).
 */
export async function tracked<T>(
  job: Job,
  rowId: string,
  jobs: JobRepository,
  work: (signal: AbortSignal) => Promise<T>,
): Promise<T> {
  const cancel = new AbortController();
  const poll = setInterval(() => {
    void jobs
      .getById(rowId)
      .then((row) => {
        if (row && (row.status === 'failed' || row.status === 'succeeded')) cancel.abort();
      })
      .catch(() => undefined);
  }, CANCEL_POLL_MS);
  poll.unref();
  try {
    return await work(cancel.signal);
  } catch (err) {
    const text = errorText(err);
    const permanent = isPermanent(err);
    const last = job.attemptsMade + 1 >= (job.opts.attempts ?? 1);
    if (permanent || last) await jobs.markFailed(rowId, text).catch(() => undefined);
    else await jobs.markRetrying(rowId, text).catch(() => undefined);
    throw permanent && !(err instanceof UnrecoverableError) ? new UnrecoverableError(text) : err;
  } finally {
    clearInterval(poll);
  }
}

/** Progress to BullMQ and the jobs row, at most every `everyMs` (and always at the end). */
export function progressReporter(
  job: Job,
  rowId: string,
  jobs: JobRepository,
  everyMs = 300,
): (fraction: number) => void {
  let last = 0;
  return (fraction: number) => {
    const now = Date.now();
    if (fraction < 1 && now - last < everyMs) return;
    last = now;
    const p = Math.round(Math.max(0, Math.min(1, fraction)) * 1000) / 1000;
    void job.updateProgress(p).catch(() => undefined);
    void jobs.setProgress(rowId, p).catch(() => undefined);
  };
}
