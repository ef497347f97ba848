import * as os from 'node:os';
import pino, { type DestinationStream, type Logger } from 'pino';
import { currentContext } from './request-context';

/** The log levels every process accepts (LOG_LEVEL), one list for the api, the worker and the CLI. */
export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

export interface LoggerOptions {
  /** `api` or `worker`: every line carries it as `service`. */
  service: string;
  level: LogLevel;
  /** Where lines go (default: stdout). Tests pass a stream to read them back. */
  destination?: DestinationStream;
}

/** Paths never written out: credentials that might sit in a logged object. */
export const REDACTED_PATHS = [
  'authorization',
  'headers.authorization',
  'req.headers.authorization',
  '*.apiKey',
  '*.secret',
  '*.token',
  'token',
  'secret',
];

/**
 * A pino logger writing one JSON object per line: `level` as a name, ISO `time`, `service`,
 * `pid`, `hostname`, and the request id / job of the code that logs (from the async context).
 */
export function createLogger(opts: LoggerOptions): Logger {
  return pino(
    {
      level: opts.level,
      base: { service: opts.service, pid: process.pid, hostname: os.hostname() },
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
      redact: { paths: REDACTED_PATHS, censor: '[redacted]' },
      mixin: () => ({ ...currentContext() }),
    },
    opts.destination ?? pino.destination({ dest: 1, sync: false }),
  );
}
