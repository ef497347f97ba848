import { EnvReader, LOG_LEVELS, type LogLevel } from '@kvplan/observability';

export { ConfigError } from '@kvplan/observability';
/**
 * The api's environment, validated once at boot. A bad or missing variable stops the process
 * with a message naming it (and every other bad one).
 */
export interface ApiConfig {
  databaseUrl: string;
  redisUrl: string;
  host: string;
  port: number;
  /** Prefix of every BullMQ key in Redis (tests use one per run). */
  queuePrefix: string;
  /** Where uploaded traces and KV samples are kept (a volume in compose). */
  storageDir: string;
  /** Largest JSON body, bytes. */
  bodyLimitBytes: number;
  /** Largest trace or KV sample upload, bytes. */
  uploadLimitBytes: number;
  /** Requests per key per window; 0 turns rate limiting off. */
  rateLimitMax: number;
  rateLimitWindowMs: number;
  /** How long a looked-up API key is trusted without asking the database again. */
  authCacheTtlMs: number;
  /** How long a finished projection's JSON is served from memory (0: always read the database). */
  readCacheTtlMs: number;
  /** Lifetime of an event-stream token. */
  streamTokenTtlS: number;
  logLevel: LogLevel;
  /** Serve the OpenAPI UI at /docs. */
  docs: boolean;
  /**
   * OPERATOR_KEY: the server-level secret that may create workspaces over HTTP
   * (`POST /workspaces` with `Authorization: Bearer <it>`); null: only `kvplan admin` can.
   */
  operatorKey: string | null;
  /** METRICS_TOKEN: when set, /metrics needs `Authorization: Bearer <it>`. */
  metricsToken: string | null;
  /** How often queued/running runs missing from Redis are re-enqueued (0: never). */
  reconcileIntervalMs: number;
  /** Runs younger than this are left to the request that queues them. */
  reconcileGraceMs: number;
}

const MIB = 1024 * 1024;

export function loadApiConfig(env: Record<string, string | undefined>): ApiConfig {
  const r = new EnvReader(env);
  const config: ApiConfig = {
    databaseUrl: r.url('DATABASE_URL', ['postgres:', 'postgresql:']),
    redisUrl: r.url('REDIS_URL', ['redis:', 'rediss:']),
    host: r.str('HOST', '0.0.0.0'),
    port: r.int('PORT', 3000, 0, 65535),
    queuePrefix: r.str('QUEUE_PREFIX', 'kvplan', /^[A-Za-z0-9_-]{1,64}$/),
    storageDir: r.storageDir(__dirname),
    bodyLimitBytes: r.int('BODY_LIMIT_BYTES', 1 * MIB, 1024),
    uploadLimitBytes: r.int('UPLOAD_LIMIT_BYTES', 256 * MIB, 1024),
    rateLimitMax: r.int('RATE_LIMIT_MAX', 6000, 0),
    rateLimitWindowMs: r.int('RATE_LIMIT_WINDOW_MS', 60_000, 100),
    authCacheTtlMs: r.int('AUTH_CACHE_TTL_MS', 5_000, 0, 600_000),
    readCacheTtlMs: r.int('READ_CACHE_TTL_MS', 5_000, 0, 600_000),
    streamTokenTtlS: r.int('STREAM_TOKEN_TTL_S', 60, 1, 3600),
    logLevel: r.oneOf('LOG_LEVEL', 'info', LOG_LEVELS),
    docs: r.bool('DOCS', true),
    operatorKey: r.secret('OPERATOR_KEY'),
    metricsToken: r.secret('METRICS_TOKEN'),
    reconcileIntervalMs: r.int('RECONCILE_INTERVAL_MS', 30_000, 0, 3_600_000),
    reconcileGraceMs: r.int('RECONCILE_GRACE_MS', 10_000, 0, 3_600_000),
  };
  r.done();
  return config;
}
