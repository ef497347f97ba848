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
  logLevel: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
  /** Serve the OpenAPI UI at /docs. */
  docs: boolean;
}

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`invalid environment:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

type Env = Record<string, string | undefined>;

export class EnvReader {
  readonly problems: string[] = [];
  constructor(private readonly env: Env) {}

  url(name: string, protocols: string[], fallback?: string): string {
    const raw = this.env[name] ?? fallback;
    if (raw === undefined || raw === '') {
      this.problems.push(`${name}: required (e.g. ${protocols[0]}//host:port/...)`);
      return '';
    }
    try {
      const u = new URL(raw);
      if (!protocols.includes(u.protocol))
        this.problems.push(`${name}: expected a ${protocols.join(' or ')} URL, got "${u.protocol}"`);
    } catch {
      this.problems.push(`${name}: not a URL`);
    }
    return raw;
  }

  int(name: string, fallback: number, min: number, max = Number.MAX_SAFE_INTEGER): number {
    const raw = this.env[name];
    if (raw === undefined || raw === '') return fallback;
    const n = Number(raw);
    if (!/^-?\d+$/.test(raw.trim()) || !Number.isSafeInteger(n) || n < min || n > max) {
      this.problems.push(`${name}: expected an integer in [${min}, ${max}], got "${raw}"`);
      return fallback;
    }
    return n;
  }

  str(name: string, fallback: string, pattern?: RegExp): string {
    const raw = this.env[name];
    if (raw === undefined || raw === '') return fallback;
    if (pattern && !pattern.test(raw))
      this.problems.push(`${name}: expected to match ${pattern}, got "${raw}"`);
    return raw;
  }

  oneOf<T extends string>(name: string, fallback: T, allowed: readonly T[]): T {
    const raw = this.env[name];
    if (raw === undefined || raw === '') return fallback;
    if (!allowed.includes(raw as T)) {
      this.problems.push(`${name}: expected one of ${allowed.join(', ')}, got "${raw}"`);
      return fallback;
    }
    return raw as T;
  }

  bool(name: string, fallback: boolean): boolean {
    const raw = this.env[name];
    if (raw === undefined || raw === '') return fallback;
    if (raw === 'true' || raw === '1') return true;
    if (raw === 'false' || raw === '0') return false;
    this.problems.push(`${name}: expected true or false, got "${raw}"`);
    return fallback;
  }

  done(): void {
    if (this.problems.length) throw new ConfigError(this.problems);
  }
}

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
const MIB = 1024 * 1024;

export function loadApiConfig(env: Env): ApiConfig {
  const r = new EnvReader(env);
  const config: ApiConfig = {
    databaseUrl: r.url('DATABASE_URL', ['postgres:', 'postgresql:']),
    redisUrl: r.url('REDIS_URL', ['redis:', 'rediss:']),
    host: r.str('HOST', '0.0.0.0'),
    port: r.int('PORT', 3000, 0, 65535),
    queuePrefix: r.str('QUEUE_PREFIX', 'kvplan', /^[A-Za-z0-9_-]{1,64}$/),
    storageDir: r.str('STORAGE_DIR', 'var/storage'),
    bodyLimitBytes: r.int('BODY_LIMIT_BYTES', 1 * MIB, 1024),
    uploadLimitBytes: r.int('UPLOAD_LIMIT_BYTES', 256 * MIB, 1024),
    rateLimitMax: r.int('RATE_LIMIT_MAX', 6000, 0),
    rateLimitWindowMs: r.int('RATE_LIMIT_WINDOW_MS', 60_000, 100),
    authCacheTtlMs: r.int('AUTH_CACHE_TTL_MS', 5_000, 0, 600_000),
    readCacheTtlMs: r.int('READ_CACHE_TTL_MS', 5_000, 0, 600_000),
    streamTokenTtlS: r.int('STREAM_TOKEN_TTL_S', 60, 1, 3600),
    logLevel: r.oneOf('LOG_LEVEL', 'info', LOG_LEVELS),
    docs: r.bool('DOCS', true),
  };
  r.done();
  return config;
}
