import {
  HttpException,
  HttpStatus,
  Inject,
  Injectable,
  type CanActivate,
  type ExecutionContext,
} from '@nestjs/common';
import { Redis } from 'ioredis';
import type { ApiConfig } from '../config/config';
import { API_CONFIG } from '../infra/tokens';
import type { AuthedRequest } from './auth';

/**
 * Fixed-window rate limit per API key (RATE_LIMIT_MAX requests per RATE_LIMIT_WINDOW_MS), counted
 * in Redis so every api replica shares it.
 */
@Injectable()
export class RateLimiter {
  constructor(
    @Inject(Redis) private readonly redis: Redis,
    @Inject(API_CONFIG) private readonly config: ApiConfig,
  ) {}

  /** Counts one request of this key; null while under the limit, else the seconds to wait. */
  async count(keyId: string): Promise<number | null> {
    const { rateLimitMax: max, rateLimitWindowMs: windowMs, queuePrefix } = this.config;
    if (max === 0) return null;
    const now = Date.now();
    const window = Math.floor(now / windowMs);
    const key = `${queuePrefix}:ratelimit:${keyId}:${window}`;
    const res = await this.redis.multi().incr(key).pexpire(key, windowMs).exec();
    const count = Number(res?.[0]?.[1] ?? 0);
    return count > max ? Math.ceil(((window + 1) * windowMs - now) / 1000) : null;
  }
}

/** The RateLimiter on every route; runs after the AuthGuard, so public routes are not limited. */
@Injectable()
export class RateLimitGuard implements CanActivate {
  constructor(
    private readonly limiter: RateLimiter,
    @Inject(API_CONFIG) private readonly config: ApiConfig,
  ) {}

  async canActivate(ctx: ExecutionContext): Promise<boolean> {
    const req = ctx.switchToHttp().getRequest<AuthedRequest>();
    if (!req.auth) return true;
    const retryAfterS = await this.limiter.count(req.auth.keyId);
    if (retryAfterS === null) return true;
    const reply = ctx.switchToHttp().getResponse<{ header: (k: string, v: string) => void }>();
    reply.header('retry-after', String(retryAfterS));
    const { rateLimitMax: max, rateLimitWindowMs: windowMs } = this.config;
    throw new HttpException(
      {
        statusCode: 429,
        error: 'Too Many Requests',
        message: `rate limit of ${max} requests per ${windowMs} ms exceeded`,
      },
      HttpStatus.TOO_MANY_REQUESTS,
    );
  }
}
