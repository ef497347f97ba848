import * as fs from 'node:fs';
import * as path from 'node:path';
import * as os from 'node:os';
import { QUEUES, type QueueName } from '@kvplan/contracts';
import { planThreads } from '@kvplan/core';
import { KERNEL_CHOICES, TF_BACKEND_CHOICES } from '@kvplan/fusion';
import { EnvReader, LOG_LEVELS, type LogLevel } from '@kvplan/observability';

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
  logLevel: LogLevel;
  /**
   * KVPLAN_MODEL_DIR: a Hugging Face model folder (config.json, *.safetensors, tokenizer.json)
   * the fusion jobs capture KV with when a trace carries prompts; null when unset.
   */
  modelDir: string | null;
  /** KVPLAN_TF_BACKEND for the fusion threads (auto | wasm | node | node-gpu | webgpu | cpu); null: auto. */
  tfBackend: string | null;
  /** KVPLAN_SIMILARITY_KERNEL for the fusion threads (auto | onnxruntime | tfjs | tfjs-async | js); null: auto. */
  similarityKernel: string | null;
  /**
   * Cores a fusion job may use: the process's cores less the simulations it may run at the same
   * time (planThreads, the one thread policy); the job splits them between its layer threads and
   * their kernels by the same policy (one thread and all of them for its kernel when layer
   * threads do not pay).
   */
  kernelThreads: number;
  /** How often the retention sweep runs (RETENTION_SWEEP_INTERVAL_MS; 0: never). */
  retentionSweepIntervalMs: number;
  /**
   * Work budget of one simulation (SIM_MAX_EVENTS): simulator events (steps and arrivals of
   * every replica, about requests x steps); a run over it fails with a message saying so.
   */
  simMaxEvents: number;
  /** Wall-time limit of one simulation (SIM_MAX_WALL_MS); a run over it is stopped and fails. */
  simMaxWallMs: number;
}

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

/** The worker's refusal to start (every bad variable named). */
export { ConfigError as WorkerConfigError } from '@kvplan/observability';

export function loadWorkerConfig(env: Record<string, string | undefined>): WorkerConfig {
  const r = new EnvReader(env);
  const modelDir = env.KVPLAN_MODEL_DIR ? path.resolve(env.KVPLAN_MODEL_DIR) : null;
  if (modelDir) r.problems.push(...modelDirProblems(modelDir));
  const tfBackend = r.oneOf('KVPLAN_TF_BACKEND', 'auto', TF_BACKEND_CHOICES);
  const similarityKernel = r.oneOf('KVPLAN_SIMILARITY_KERNEL', 'auto', KERNEL_CHOICES);
  const queues = r.list('QUEUES', Object.values(QUEUES) as QueueName[]);
  const simulateConcurrency = r.int('SIMULATE_CONCURRENCY', 1, 1, 64);
  const config: WorkerConfig = {
    databaseUrl: r.url('DATABASE_URL', ['postgres:', 'postgresql:']),
    redisUrl: r.url('REDIS_URL', ['redis:', 'rediss:']),
    queuePrefix: r.str('QUEUE_PREFIX', 'kvplan', /^[A-Za-z0-9_-]{1,64}$/),
    storageDir: r.storageDir(__dirname),
    queues,
    simulateConcurrency,
    lockDurationMs: r.int('LOCK_DURATION_MS', 30_000, 1000, 3_600_000),
    stalledIntervalMs: r.int('STALLED_INTERVAL_MS', 30_000, 500, 3_600_000),
    logLevel: r.oneOf('LOG_LEVEL', 'info', LOG_LEVELS),
    modelDir,
    tfBackend: env.KVPLAN_TF_BACKEND ? tfBackend : null,
    similarityKernel: env.KVPLAN_SIMILARITY_KERNEL ? similarityKernel : null,
    kernelThreads: planThreads(os.availableParallelism(), 1, {
      busy: queues.includes(QUEUES.simulate) ? simulateConcurrency : 0,
    }).kernelThreads,
    retentionSweepIntervalMs: r.int('RETENTION_SWEEP_INTERVAL_MS', 3_600_000, 0, 7 * 24 * 3_600_000),
    simMaxEvents: r.int('SIM_MAX_EVENTS', 300_000_000, 1000),
    simMaxWallMs: r.int('SIM_MAX_WALL_MS', 600_000, 1000, 24 * 3_600_000),
  };
  r.done();
  return config;
}
