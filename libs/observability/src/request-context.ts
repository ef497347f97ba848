import { AsyncLocalStorage } from 'node:async_hooks';
import { randomUUID } from 'node:crypto';
import { REQUEST_ID_PATTERN } from '@kvplan/contracts';

/**
 * What a log line should say about the work it belongs to: the HTTP request that started it
 * (carried from the api into job payloads) and, in the worker, the job.
 */
export interface LogContext {
  requestId?: string;
  jobId?: string;
  jobName?: string;
  queue?: string;
}

const storage = new AsyncLocalStorage<LogContext>();

/** Runs `fn` (and everything it awaits) with `ctx` added to the current context. */
export function runWithContext<T>(ctx: LogContext, fn: () => T): T {
  return storage.run({ ...storage.getStore(), ...ctx }, fn);
}

/** The context of the code running now (empty outside any request or job). */
export function currentContext(): LogContext {
  return storage.getStore() ?? {};
}

/** The request id of the code running now, if it runs for a request. */
export function currentRequestId(): string | undefined {
  return storage.getStore()?.requestId;
}

export { REQUEST_ID_PATTERN };

/**
 * The request id to use for an incoming request: the caller's `X-Request-Id` when it is a sane
 * token (so a proxy's id threads through), else a new UUID. Anything else (too long, spaces,
 * control characters) is replaced, never echoed into logs.
 */
export function requestIdFrom(header: string | string[] | undefined): string {
  const v = Array.isArray(header) ? header[0] : header;
  return typeof v === 'string' && REQUEST_ID_PATTERN.test(v) ? v : randomUUID();
}
