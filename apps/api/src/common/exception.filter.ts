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

const PG_TO_HTTP: Record<string, [number, string, string]> = {
  '23503': [
    409,
    'Conflict',
    'the row is referenced by or refers to another row (delete or change that one first)',
  ],
  '23505': [409, 'Conflict', 'a row with these values already exists'],
  '22P02': [400, 'Bad Request', 'a value has the wrong type'],
  '22001': [400, 'Bad Request', 'a value is too long'],
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
  }
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
    if (body.statusCode >= 500)
      this.logger.error(err instanceof Error ? (err.stack ?? err.message) : String(err));
    if (reply.sent) return;
    reply.status(body.statusCode).header('content-type', 'application/json; charset=utf-8').send(body);
  }
}
