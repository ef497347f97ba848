import { QUEUES, type QueueName } from '@kvplan/contracts';

/** The worker's environment, validated at boot (a bad variable stops it, named). */
export interface WorkerConfig {
  databaseUrl: string;
  redisUrl: string;
  queuePrefix: string;
  storageDir: string;
  /** Queues this process consumes (QUEUES=simulate,capacity). */
  queues: QueueName[];
  /** Simulations run at once by this process (each in its own thread). */
  simulateConcurrency: number;
  /** BullMQ lock duration and stalled-job check interval (shortened in tests). */
  lockDurationMs: number;
  stalledIntervalMs: number;
  logLevel: 'error' | 'warn' | 'info' | 'debug' | 'silent';
}

export class WorkerConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`invalid environment:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
  }
}

export function loadWorkerConfig(env: Record<string, string | undefined>): WorkerConfig {
  const problems: string[] = [];
  const url = (name: string, protocols: string[]): string => {
    const v = env[name];
    if (!v) {
      problems.push(`${name}: required`);
      return '';
    }
    try {
      if (!protocols.includes(new URL(v).protocol))
        problems.push(`${name}: expected a ${protocols.join(' or ')} URL`);
    } catch {
      problems.push(`${name}: not a URL`);
    }
    return v;
  };
  const int = (name: string, fallback: number, min: number, max: number): number => {
    const v = env[name];
    if (v === undefined || v === '') return fallback;
    const n = Number(v);
    if (!/^\d+$/.test(v) || n < min || n > max) {
      problems.push(`${name}: expected an integer in [${min}, ${max}], got "${v}"`);
      return fallback;
    }
    return n;
  };
  const all = Object.values(QUEUES) as QueueName[];
  const queues = (env.QUEUES ?? all.join(','))
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean) as QueueName[];
  const unknown = queues.filter((q) => !all.includes(q));
  if (unknown.length || queues.length === 0)
    problems.push(`QUEUES: expected a comma list of ${all.join(', ')}, got "${env.QUEUES}"`);
  const levels = ['error', 'warn', 'info', 'debug', 'silent'] as const;
  const logLevel = (env.LOG_LEVEL ?? 'info') as WorkerConfig['logLevel'];
  if (!levels.includes(logLevel))
    problems.push(`LOG_LEVEL: expected one of ${levels.join(', ')}, got "${env.LOG_LEVEL}"`);
  const prefix = env.QUEUE_PREFIX ?? 'kvplan';
  if (!/^[A-Za-z0-9_-]{1,64}$/.test(prefix))
    problems.push(`QUEUE_PREFIX: expected 1-64 of A-Z a-z 0-9 _ -, got "${prefix}"`);
  const config: WorkerConfig = {
    databaseUrl: url('DATABASE_URL', ['postgres:', 'postgresql:']),
    redisUrl: url('REDIS_URL', ['redis:', 'rediss:']),
    queuePrefix: prefix,
    storageDir: env.STORAGE_DIR || 'var/storage',
    queues,
    simulateConcurrency: int('SIMULATE_CONCURRENCY', 1, 1, 64),
    lockDurationMs: int('LOCK_DURATION_MS', 30_000, 1000, 3_600_000),
    stalledIntervalMs: int('STALLED_INTERVAL_MS', 30_000, 500, 3_600_000),
    logLevel,
  };
  if (problems.length) throw new WorkerConfigError(problems);
  return config;
}
