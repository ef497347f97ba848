/**
 * Queue and job names. Explicit string constants, never derived from class names: a job waiting
 * in Redis keeps its name across renames of the code that handles it. Changing a value here
 * strands the jobs already queued under the old one.
 */
export const QUEUES = {
  fusion: 'fusion',
  simulate: 'simulate',
  capacity: 'capacity',
} as const;

export type QueueName = (typeof QUEUES)[keyof typeof QUEUES];

export const JOB_NAMES = {
  /** fusion queue: build a kvplan-fusion-profile/1 for a workload profile and a fusion config. */
  fusionProfile: 'fusion.profile',
  /** simulate queue: run one projection (with and without fusion). */
  simulateProjection: 'simulate.projection',
  /** simulate queue: one point of a capacity plan's sweep (a child of `capacity.plan`). */
  simulateCapacityPoint: 'simulate.capacity-point',
  /** capacity queue: the parent of a capacity sweep; aggregates its children when they finish. */
  capacityPlan: 'capacity.plan',
} as const;

export type JobName = (typeof JOB_NAMES)[keyof typeof JOB_NAMES];

/** Which queue carries each job name. */
export const QUEUE_OF_JOB: Record<JobName, QueueName> = {
  [JOB_NAMES.fusionProfile]: QUEUES.fusion,
  [JOB_NAMES.simulateProjection]: QUEUES.simulate,
  [JOB_NAMES.simulateCapacityPoint]: QUEUES.simulate,
  [JOB_NAMES.capacityPlan]: QUEUES.capacity,
};
