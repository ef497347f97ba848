import { STATUS_CODES } from 'node:http';
import { Catch, HttpException, Logger, type ArgumentsHost, type ExceptionFilter } from '@nestjs/common';
import { QueryFailedError } from 'typeorm';
import { InputError } from '@kvplan/sim';

interface Reply {
  status(code: number): Reply;
  header(k: string, v: string): Reply;
  send(body: unknown): void;
  sent?: boolean;
}

export interface ErrorBody {
  statusCode: number;
  error: string;
  message: string;
  issues?: Array<{ path: string; message: string }>;
}

/** Seconds a client is asked to wait when a dependency is down. */
export const RETRY_AFTER_S = 5;

/** PostgreSQL SQLSTATEs and socket errors meaning "the database is not there right now". */
const DB_DOWN_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENOTFOUND',
  'EPIPE',
  '57P01', // admin_shutdown
  '57P02', // crash_shutdown
  '57P03', // cannot_connect_now
  '53300', // too_many_connections
  '08000',
  '08001',
  '08003',
  '08004',
  '08006',
]);
const DB_DOWN_MESSAGE =
  /Connection terminated|timeout exceeded when trying to connect|Client has encountered a connection error|Cannot use a pool after calling end|connect ECONNREFUSED/i;
const REDIS_DOWN_MESSAGE =
  /enableOfflineQueue|Command timed out|Connection is closed|MaxRetriesPerRequest|Reached the max retries|Redis is not reachable|queue is unavailable/i;

/** Which dependency an error says is unavailable, or null for any other error. */
export function unavailableDependency(err: unknown): 'database' | 'queue' | null {
  const e = err as { code?: unknown; message?: unknown; driverError?: unknown; name?: unknown } | null;
  if (!e || typeof e !== 'object') return null;
  const inner = (e.driverError ?? e) as { code?: unknown; message?: unknown };
  const code = typeof inner.code === 'string' ? inner.code : typeof e.code === 'string' ? e.code : '';
  const message = `${String(e.message ?? '')} ${String(inner.message ?? '')}`;
  if (e.name === 'MaxRetriesPerRequestError' || REDIS_DOWN_MESSAGE.test(message)) return 'queue';
  if (DB_DOWN_CODES.has(code) || DB_DOWN_MESSAGE.test(message)) return 'database';
  return null;
}

const PG_TO_HTTP: Record<string, [number, string, string]> = {
  '23503': [
    409,
    'Conflict',
    'the row is referenced by or refers to another row (delete or change that one first)',
  ],
  '23505': [409, 'Conflict', 'a row with these values already exists'],
  '22P02': [400, 'Bad Request', 'a value has the wrong type'],
  '22001': [400, 'Bad Request', 'a value is too long'],
  '22003': [400, 'Bad Request', 'a number is out of range'],
  '23502': [400, 'Bad Request', 'a required value is null'],
  '54000': [400, 'Bad Request', 'a value is too large to store'],
};

/** Maps an error to the status and body a client sees. Never a stack; 500 only for our own bugs. */
export function toErrorResponse(err: unknown): ErrorBody {
  if (err instanceof HttpException) {
    const status = err.getStatus();
    const res = err.getResponse();
    if (typeof res === 'object' && res !== null) {
      const r = res as Record<string, unknown>;
      const message = Array.isArray(r.message) ? r.message.join('; ') : String(r.message ?? err.message);
      const body: ErrorBody = {
        statusCode: status,
        error: String(r.error ?? STATUS_CODES[status] ?? 'Error'),
        message,
      };
      if (Array.isArray(r.issues)) body.issues = r.issues as ErrorBody['issues'];
      return body;
    }
    return { statusCode: status, error: STATUS_CODES[status] ?? 'Error', message: String(res) };
  }
  if (err instanceof InputError)
    return { statusCode: 400, error: 'Bad Request', message: 'invalid input', issues: err.issues };
  if (err instanceof QueryFailedError) {
    const code = (err as QueryFailedError & { driverError?: { code?: string } }).driverError?.code ?? '';
    const mapped = PG_TO_HTTP[code];
    if (mapped) return { statusCode: mapped[0], error: mapped[1], message: mapped[2] };
    // Any other data exception (class 22: bad text encoding, bad values) is the input's fault.
    if (code.startsWith('22'))
      return { statusCode: 400, error: 'Bad Request', message: 'a value cannot be stored' };
  }
  const down = unavailableDependency(err);
  if (down)
    return {
      statusCode: 503,
      error: 'Service Unavailable',
      message: `the ${down} is unavailable; retry in ${RETRY_AFTER_S} s`,
    };
  // Errors raised by Fastify before Nest (body too large, bad JSON, bad content type) carry a 4xx statusCode.
  const e = err as { statusCode?: unknown; message?: unknown; code?: unknown };
  if (typeof e?.statusCode === 'number' && e.statusCode >= 400 && e.statusCode < 500) {
    return {
      statusCode: e.statusCode,
      error: String(e.code ?? 'Bad Request'),
      message: String(e.message ?? 'bad request'),
    };
  }
  return { statusCode: 500, error: 'Internal Server Error', message: 'internal error' };
}

@Catch()
export class AllExceptionsFilter implements ExceptionFilter {
  private readonly logger = new Logger('http');

  catch(err: unknown, host: ArgumentsHost): void {
    const reply = host.switchToHttp().getResponse<Reply>();
    const body = toErrorResponse(err);
    if (body.statusCode === 503) this.logger.warn(err instanceof Error ? err.message : String(err));
    else if (body.statusCode >= 500)
      this.logger.error(err instanceof Error ? (err.stack ?? err.message) : String(err));
    if (reply.sent) return;
    if (body.statusCode === 503) reply.header('retry-after', String(RETRY_AFTER_S));
    reply.status(body.statusCode).header('content-type', 'application/json; charset=utf-8').send(body);
  }
}
