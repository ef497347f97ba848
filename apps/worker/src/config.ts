import * as fs from 'node:fs';
import * as path from 'node:path';
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
  /**
   * KVPLAN_MODEL_DIR: a Hugging Face model folder (config.json, *.safetensors, tokenizer.json)
   * the fusion jobs capture KV with when a trace carries prompts; null when unset.
   */
  modelDir: string | null;
  /** KVPLAN_TF_BACKEND for the fusion threads (auto | wasm | node | node-gpu | cpu); null: auto. */
  tfBackend: string | null;
  /** How often the retention sweep runs (RETENTION_SWEEP_INTERVAL_MS; 0: never). */
  retentionSweepIntervalMs: number;
}

const TF_BACKENDS = ['auto', 'wasm', 'node', 'node-gpu', 'cpu'];

/** Problems of a model folder, checked at boot without loading it (the fusion job loads it). */
export function modelDirProblems(dir: string): string[] {
  let st: fs.Stats;
  try {
    st = fs.statSync(dir);
  } catch {
    return [`KVPLAN_MODEL_DIR: "${dir}" does not exist`];
  }
  if (!st.isDirectory()) return [`KVPLAN_MODEL_DIR: "${dir}" is not a folder`];
  const problems: string[] = [];
  try {
    const cfg: unknown = JSON.parse(fs.readFileSync(path.join(dir, 'config.json'), 'utf8'));
    if (typeof cfg !== 'object' || cfg === null || Array.isArray(cfg))
      problems.push(`KVPLAN_MODEL_DIR: "${dir}/config.json" is not a JSON object`);
  } catch (err) {
    problems.push(
      `KVPLAN_MODEL_DIR: "${dir}/config.json" ${(err as NodeJS.ErrnoException).code === 'ENOENT' ? 'is missing' : 'is not valid JSON'}`,
    );
  }
  if (!fs.readdirSync(dir).some((f) => f.endsWith('.safetensors')))
    problems.push(`KVPLAN_MODEL_DIR: "${dir}" holds no .safetensors weights`);
  return problems;
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
  const modelDir = env.KVPLAN_MODEL_DIR ? path.resolve(env.KVPLAN_MODEL_DIR) : null;
  if (modelDir) problems.push(...modelDirProblems(modelDir));
  const tfBackend = env.KVPLAN_TF_BACKEND || null;
  if (tfBackend && !TF_BACKENDS.includes(tfBackend.toLowerCase()))
    problems.push(`KVPLAN_TF_BACKEND: expected one of ${TF_BACKENDS.join(', ')}, got "${tfBackend}"`);
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
    modelDir,
    tfBackend,
    retentionSweepIntervalMs: int('RETENTION_SWEEP_INTERVAL_MS', 3_600_000, 0, 7 * 24 * 3_600_000),
  };
  if (problems.length) throw new WorkerConfigError(problems);
  return config;
}
