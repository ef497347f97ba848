import { JOB_NAMES, type JobName } from './queues';

/**
 * Job payloads. They carry ids only (never tensors, traces or results): the worker loads what it
 * needs from PostgreSQL. Every payload has a version `v`; a handler refuses a version it does not
 * know (the job then fails at once, without retries).
 */
export const PAYLOAD_VERSION = 1 as const;

interface PayloadBase {
  v: typeof PAYLOAD_VERSION;
  workspaceId: string;
  /** The run id: also the BullMQ job id and the primary key of the `jobs` row. */
  runId: string;
  /**
   * The id of the API request that queued the job (its `X-Request-Id`), so the worker's log lines
   * can be joined to the api's. Optional and additive: payloads without it stay valid at v 1.
   */
  requestId?: string;
}

export interface SimulateProjectionPayload extends PayloadBase {
  projectionId: string;
}

export interface SimulateCapacityPointPayload extends PayloadBase {
  capacityPlanId: string;
  pointIndex: number;
}

export interface CapacityPlanPayload extends PayloadBase {
  capacityPlanId: string;
}

export interface FusionProfilePayload extends PayloadBase {
  fusionProfileId: string;
}

export interface JobPayloads {
  [JOB_NAMES.simulateProjection]: SimulateProjectionPayload;
  [JOB_NAMES.simulateCapacityPoint]: SimulateCapacityPointPayload;
  [JOB_NAMES.capacityPlan]: CapacityPlanPayload;
  [JOB_NAMES.fusionProfile]: FusionProfilePayload;
}

const ID_FIELDS: Record<JobName, Record<string, 'uuid' | 'index'>> = {
  [JOB_NAMES.simulateProjection]: { projectionId: 'uuid' },
  [JOB_NAMES.simulateCapacityPoint]: { capacityPlanId: 'uuid', pointIndex: 'index' },
  [JOB_NAMES.capacityPlan]: { capacityPlanId: 'uuid' },
  [JOB_NAMES.fusionProfile]: { fusionProfileId: 'uuid' },
};

/** Characters and length a request id may have when it comes from outside (`X-Request-Id`). */
export const REQUEST_ID_PATTERN = /^[A-Za-z0-9._:-]{1,128}$/;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** A payload the handler cannot use (unknown name, version or a missing id). Never retried. */
export class PayloadError extends Error {
  constructor(
    readonly jobName: string,
    readonly problems: string[],
  ) {
    super(`bad payload for job "${jobName}": ${problems.join('; ')}`);
    this.name = 'PayloadError';
  }
}

/**
 * Checks a payload read back from the queue against its job name and version; returns it typed
 * or throws a PayloadError listing every problem.
 */
export function parsePayload<N extends JobName>(name: N, data: unknown): JobPayloads[N];
export function parsePayload(name: string, data: unknown): JobPayloads[JobName];
export function parsePayload(name: string, data: unknown): JobPayloads[JobName] {
  const fields = (ID_FIELDS as Record<string, Record<string, 'uuid' | 'index'>>)[name];
  if (!fields)
    throw new PayloadError(name, [`unknown job name (known: ${Object.keys(ID_FIELDS).join(', ')})`]);
  if (typeof data !== 'object' || data === null || Array.isArray(data)) {
    throw new PayloadError(name, ['payload is not an object']);
  }
  const obj = data as Record<string, unknown>;
  const problems: string[] = [];
  if (obj.v !== PAYLOAD_VERSION)
    problems.push(`v: expected ${PAYLOAD_VERSION}, got ${JSON.stringify(obj.v)}`);
  const all: Record<string, 'uuid' | 'index'> = { workspaceId: 'uuid', runId: 'uuid', ...fields };
  for (const [key, kind] of Object.entries(all)) {
    const value = obj[key];
    if (kind === 'uuid' && (typeof value !== 'string' || !UUID.test(value))) {
      problems.push(`${key}: expected a UUID, got ${JSON.stringify(value)}`);
    }
    if (kind === 'index' && !(typeof value === 'number' && Number.isInteger(value) && value >= 0)) {
      problems.push(`${key}: expected a non-negative integer, got ${JSON.stringify(value)}`);
    }
  }
  if (
    obj.requestId !== undefined &&
    !(typeof obj.requestId === 'string' && REQUEST_ID_PATTERN.test(obj.requestId))
  )
    problems.push(`requestId: expected 1-128 of A-Z a-z 0-9 . _ : -, got ${JSON.stringify(obj.requestId)}`);
  if (problems.length) throw new PayloadError(name, problems);
  return obj as unknown as JobPayloads[JobName];
}

/** BullMQ job id of a capacity point: derived from the plan's run id so a re-added flow dedupes. */
export function capacityPointJobId(planRunId: string, pointIndex: number): string {
  return `${planRunId}-p${pointIndex}`;
}
