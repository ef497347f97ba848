/** Shapes shared by the api (what it returns) and the worker (what it writes). */

export const JOB_STATUSES = ['queued', 'running', 'succeeded', 'failed'] as const;
export type JobStatus = (typeof JOB_STATUSES)[number];

export const JOB_KINDS = ['simulate', 'capacity', 'fusion'] as const;
export type JobKind = (typeof JOB_KINDS)[number];

export const ROLES = ['viewer', 'planner', 'admin'] as const;
export type Role = (typeof ROLES)[number];

/** viewer < planner < admin: a role may do whatever a lower one may. */
export function roleAtLeast(have: Role, need: Role): boolean {
  return ROLES.indexOf(have) >= ROLES.indexOf(need);
}

export const CAPACITY_MODES = ['max-rate', 'min-gpus', 'pareto'] as const;
export type CapacityMode = (typeof CAPACITY_MODES)[number];

/** Where an accuracy figure of a projection comes from. */
export type AccuracySource = 'measured' | 'proxy' | 'none';

/** Progress event of a job, as the SSE stream sends it. */
export interface JobProgressEvent {
  jobId: string;
  status: JobStatus;
  progress: number;
  error: string | null;
}
