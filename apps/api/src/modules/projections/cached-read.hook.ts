import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { ApiKeys, bearerKey } from '../../common/api-keys';
import type { AuthedRequest } from '../../common/auth';
import { RateLimiter } from '../../common/rate-limit.guard';
import { ProjectionReadCache } from './read-cache';

const ROUTE = '/api/v1/projections/:id';

/**
 * Answers `GET /api/v1/projections/:id` straight from the read cache, before Nest's pipeline, when
 * both the caller's key and the finished projection are cached: the same bytes and headers as
 * ProjectionsController.get, the same key check (any role may read), the same rate limit. Anything
 * else (no or unknown key, a miss, over the limit) goes on to the controller, which answers it
 * and fills the caches. Registered after the request-id hook, before the routes are used.
 */
export function serveCachedProjectionReads(app: NestFastifyApplication): void {
  const keys = app.get(ApiKeys);
  const limiter = app.get(RateLimiter);
  const cache = app.get(ProjectionReadCache);
  app
    .getHttpAdapter()
    .getInstance()
    .addHook('onRequest', async (req, reply) => {
      if (req.routeOptions.url !== ROUTE || req.method !== 'GET') return;
      const secret = bearerKey(req.headers.authorization);
      const auth = secret === null ? undefined : keys.cached(secret);
      const body = auth && cache.get(auth.workspaceId, (req.params as { id: string }).id);
      if (!auth || !body) return;
      // Redis away: the controller's pipeline answers (503 from the rate-limit guard).
      const over = await limiter.count(auth.keyId).catch(() => 'unavailable' as const);
      if (over !== null) return;
      return reply.header('content-type', 'application/json; charset=utf-8').send(body);
    });
}

/** Methods that only read. */
const READS = new Set(['GET', 'HEAD', 'OPTIONS']);

/**
 * The one place where the api's writes reach the read cache: when a request of a workspace that
 * may change stored rows (any method but GET, HEAD and OPTIONS, once the auth guard has admitted
 * it) answers, whatever its status (a refused retry may have changed its queue entries, a failing
 * handler may have written part of its work), the workspace's cached documents are dropped before
 * the answer is sent, so the next read (a GET right after a cancel or a retry) shows what the
 * write did. Routes need no call of their own, and a new one cannot forget it.
 */
export function dropCachedReadsOnWrites(app: NestFastifyApplication): void {
  const cache = app.get(ProjectionReadCache);
  app
    .getHttpAdapter()
    .getInstance()
    .addHook('onSend', async (req) => {
      if (READS.has(req.method)) return;
      const auth = (req as unknown as AuthedRequest).auth;
      if (auth) cache.changed(auth.workspaceId);
    });
}
