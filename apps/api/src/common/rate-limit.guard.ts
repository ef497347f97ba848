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
 * in Redis so every api replica shares it. Runs after the AuthGuard; public routes are not limited.
 */
@Injectable()
export class RateLimitGuard implements CanActivate {
  constructor(
    @Inject(Redis) private readonly redis: Redis,
    @Inject(API_CONFIG) private readonly config: ApiConfig,
  ) {}

  async canActivate(ctx: ExecutionContext): Promise<boolean> {
    const { rateLimitMax: max, rateLimitWindowMs: windowMs, queuePrefix } = this.config;
    const req = ctx.switchToHttp().getRequest<AuthedRequest>();
    if (max === 0 || !req.auth) return true;
    const now = Date.now();
    const window = Math.floor(now / windowMs);
    const key = `${queuePrefix}:ratelimit:${req.auth.keyId}:${window}`;
    const res = await this.redis.multi().incr(key).pexpire(key, windowMs).exec();
    const count = Number(res?.[0]?.[1] ?? 0);
    if (count > max) {
      const retryAfterS = Math.ceil(((window + 1) * windowMs - now) / 1000);
      const reply = ctx.switchToHttp().getResponse<{ header: (k: string, v: string) => void }>();
      reply.header('retry-after', String(retryAfterS));
      throw new HttpException(
        {
          statusCode: 429,
          error: 'Too Many Requests',
          message: `rate limit of ${max} requests per ${windowMs} ms exceeded`,
        },
        HttpStatus.TOO_MANY_REQUESTS,
      );
    }
    return true;
  }
}
