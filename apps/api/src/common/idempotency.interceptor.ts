import { createHash } from 'node:crypto';
import {
  BadRequestException,
  ConflictException,
  HttpStatus,
  Injectable,
  UnprocessableEntityException,
  type CallHandler,
  type ExecutionContext,
  type NestInterceptor,
} from '@nestjs/common';
import { HTTP_CODE_METADATA } from '@nestjs/common/constants';
import { Reflector } from '@nestjs/core';
import { from, lastValueFrom, of, type Observable } from 'rxjs';
import { IdempotencyRepository } from '@kvplan/db';
import type { AuthedRequest } from './auth';

const KEY_RE = /^[A-Za-z0-9_.:-]{1,255}$/;

/**
 * `Idempotency-Key` on POSTs: the first request with a key runs and its response is stored; a
 * retry with the same key and the same body gets that response again and creates nothing; the
 * same key with another body is refused (422); a retry while the first is still running gets 409.
 */
@Injectable()
export class IdempotencyInterceptor implements NestInterceptor {
  constructor(
    private readonly repo: IdempotencyRepository,
    private readonly reflector: Reflector,
  ) {}

  intercept(ctx: ExecutionContext, next: CallHandler): Observable<unknown> {
    const req = ctx.switchToHttp().getRequest<AuthedRequest>();
    const raw = req.headers['idempotency-key'];
    if (req.method !== 'POST' || raw === undefined || !req.auth) return next.handle();
    const key = Array.isArray(raw) ? raw[0] : raw;
    if (!KEY_RE.test(key)) {
      throw new BadRequestException({
        statusCode: 400,
        error: 'Bad Request',
        message: 'invalid Idempotency-Key',
        issues: [
          { path: 'headers.idempotency-key', message: 'expected 1 to 255 characters of A-Z a-z 0-9 _ . : -' },
        ],
      });
    }
    const status = this.reflector.get<number>(HTTP_CODE_METADATA, ctx.getHandler()) ?? HttpStatus.CREATED;
    const hash = createHash('sha256')
      .update(`${req.method} ${req.url.split('?')[0]}\n`)
      .update(JSON.stringify(req.body ?? null))
      .digest('hex');
    const workspaceId = req.auth.workspaceId;
    return from(this.run(ctx, next, workspaceId, key, hash, status));
  }

  private async run(
    ctx: ExecutionContext,
    next: CallHandler,
    ws: string,
    key: string,
    hash: string,
    status: number,
  ) {
    const claim = await this.repo.claim(ws, key, hash);
    if (claim.kind === 'mismatch') {
      throw new UnprocessableEntityException('this Idempotency-Key was used with a different request');
    }
    if (claim.kind === 'in-progress')
      throw new ConflictException('a request with this Idempotency-Key is still being processed');
    if (claim.kind === 'replay') {
      const reply = ctx
        .switchToHttp()
        .getResponse<{ status(code: number): unknown; header(k: string, v: string): unknown }>();
      reply.status(claim.status);
      reply.header('idempotent-replayed', 'true');
      return lastValueFrom(of(claim.body));
    }
    try {
      const body = await lastValueFrom(next.handle(), { defaultValue: null });
      await this.repo.complete(claim.id, status, body);
      return body;
    } catch (err) {
      await this.repo.release(claim.id);
      throw err;
    }
  }
}
