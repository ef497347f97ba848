/** Shapes shared by the api (what it returns) and the worker (what it writes). */

export const JOB_STATUSES = ['queued', 'running', 'succeeded', 'failed'] as const;
export type JobStatus = (typeof JOB_STATUSES)[number];

/** The error text of a job cancelled with `POST /jobs/:id/cancel` (its status is `failed`). */
export const JOB_CANCELLED = 'cancelled';

export const JOB_KINDS = ['simulate', 'capacity', 'fusion'] as const;
export type JobKind = (typeof JOB_KINDS)[number];

export const ROLES = ['viewer', 'planner', 'admin'] as const;
export type Role = (typeof ROLES)[number];

/** viewer < planner < admin: a role may do whatever a lower one may. */
export function roleAtLeast(have: Role, need: Role): boolean {
  return ROLES.indexOf(have) >= ROLES.indexOf(need);
}

/**
 * max-rate, min-gpus and pareto sweep one deployment; answer sweeps GPU type (one deployment per
 * type) x TP x fusion threshold and finds the fewest replicas of each for the target rate.
 */
export const CAPACITY_MODES = ['max-rate', 'min-gpus', 'pareto', 'answer'] as const;
export type CapacityMode = (typeof CAPACITY_MODES)[number];

/** A job's status row as the api returns it (dates as ISO strings in JSON). */
export interface JobBody {
  id: string;
  kind: JobKind;
  status: JobStatus;
  progress: number;
  attempts: number;
  error: string | null;
  createdAt: string;
  startedAt: string | null;
  finishedAt: string | null;
  subjectId?: string;
}

/** Where an accuracy figure of a projection comes from. */
export type AccuracySource = 'measured' | 'proxy' | 'none';

/** Progress event of a job, as the SSE stream sends it. */
export interface JobProgressEvent {
  jobId: string;
  status: JobStatus;
  progress: number;
  error: string | null;
}

/**
 * Options of a fusion-profile job (`POST /fusion-profiles`), stored with the profile row and read
 * by the worker. A row stored without some of them takes the defaults.
 */
export interface FusionProfileOptions {
  /** Requests sampled from the workload, stratified by prompt length (at least the largest batch size). */
  sampleSize: number;
  /** Seed of the sampling and of the synthetic generator. */
  seed: number;
  /** Each sampled prompt's KV cache is cut to this many tokens (bounds the tensor work). */
  maxPromptTokens: number;
}

export const FUSION_PROFILE_DEFAULTS: FusionProfileOptions = {
  sampleSize: 16,
  seed: 1,
  maxPromptTokens: 512,
};

/** Inclusive bounds the api enforces (batch sizes of the fusion config count against maxSampleSize). */
export const FUSION_PROFILE_LIMITS = {
  minSampleSize: 2,
  maxSampleSize: 256,
  minPromptTokens: 16,
  maxPromptTokens: 8192,
} as const;

/** The stored options with defaults filled (unknown keys dropped, wrong types replaced by defaults). */
export function fusionProfileOptions(
  stored: Record<string, unknown> | null | undefined,
): FusionProfileOptions {
  const int = (k: keyof FusionProfileOptions): number => {
    const v = stored?.[k];
    return typeof v === 'number' && Number.isInteger(v) ? v : FUSION_PROFILE_DEFAULTS[k];
  };
  return { sampleSize: int('sampleSize'), seed: int('seed'), maxPromptTokens: int('maxPromptTokens') };
}
