import { FlowProducer, Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import {
  JOB_NAMES,
  PAYLOAD_VERSION,
  QUEUES,
  capacityPointJobId,
  type CapacityPlanPayload,
  type FusionProfilePayload,
  type JobKind,
  type QueueName,
  type SimulateCapacityPointPayload,
  type SimulateProjectionPayload,
} from '@kvplan/contracts';
import { currentRequestId } from '@kvplan/observability';

/** Retries for transient failures (database or Redis hiccups); bad payloads fail at once. */
export const DEFAULT_JOB_OPTIONS = {
  attempts: 3,
  backoff: { type: 'exponential', delay: 2_000 },
  removeOnComplete: { age: 24 * 3600, count: 10_000 },
  removeOnFail: { age: 7 * 24 * 3600 },
} as const;

/** The id of the API request being served, for the payload (joins the worker's logs to the api's). */
const traced = (): { requestId?: string } => {
  const requestId = currentRequestId();
  return requestId ? { requestId } : {};
};

/** The producer side of the queues. Every job id is the run id (the `jobs` row id). */
export class JobQueues {
  readonly queues: Record<QueueName, Queue>;
  private readonly flows: FlowProducer;

  constructor(connection: Redis, prefix: string) {
    const opts = { connection, prefix };
    this.queues = {
      [QUEUES.simulate]: new Queue(QUEUES.simulate, opts),
      [QUEUES.capacity]: new Queue(QUEUES.capacity, opts),
      [QUEUES.fusion]: new Queue(QUEUES.fusion, opts),
    };
    this.flows = new FlowProducer(opts);
    // BullMQ re-emits the shared client's connection errors on every queue and prints each one
    // with its stack when nobody listens; the client's own handler (infra.module.ts) already logs
    // one line per outage, and requests meanwhile answer 503.
    const quiet = () => undefined;
    for (const queue of Object.values(this.queues)) queue.on('error', quiet);
    this.flows.on('error', quiet);
  }

  async enqueueProjection(p: Omit<SimulateProjectionPayload, 'v'>): Promise<void> {
    const data: SimulateProjectionPayload = { v: PAYLOAD_VERSION, ...traced(), ...p };
    await this.queues.simulate.add(JOB_NAMES.simulateProjection, data, {
      ...DEFAULT_JOB_OPTIONS,
      jobId: p.runId,
    });
  }

  async enqueueFusionProfile(p: Omit<FusionProfilePayload, 'v'>): Promise<void> {
    const data: FusionProfilePayload = { v: PAYLOAD_VERSION, ...traced(), ...p };
    await this.queues.fusion.add(JOB_NAMES.fusionProfile, data, { ...DEFAULT_JOB_OPTIONS, jobId: p.runId });
  }

  /**
   * A capacity sweep as a BullMQ flow: one `simulate.capacity-point` child per point still to
   * run (any worker may take them: all of a new plan's, `pointIndexes` of a retried one), the
   * `capacity.plan` parent runs once they all finished and aggregates (at once without any).
   */
  async enqueueCapacityPlan(
    p: Omit<CapacityPlanPayload, 'v'>,
    pointIndexes: readonly number[],
  ): Promise<void> {
    const parent: CapacityPlanPayload = { v: PAYLOAD_VERSION, ...traced(), ...p };
    await this.flows.add({
      name: JOB_NAMES.capacityPlan,
      queueName: QUEUES.capacity,
      data: parent,
      opts: { ...DEFAULT_JOB_OPTIONS, jobId: p.runId },
      children: pointIndexes.map((pointIndex) => {
        const child: SimulateCapacityPointPayload = {
          v: PAYLOAD_VERSION,
          ...traced(),
          workspaceId: p.workspaceId,
          runId: p.runId,
          capacityPlanId: p.capacityPlanId,
          pointIndex,
        };
        return {
          name: JOB_NAMES.simulateCapacityPoint,
          queueName: QUEUES.simulate,
          data: child,
          opts: { ...DEFAULT_JOB_OPTIONS, jobId: capacityPointJobId(p.runId, pointIndex) },
        };
      }),
    });
  }

  /** The queue a job row's run is in (a capacity plan: its parent job). */
  private queueOf(kind: JobKind): Queue {
    return kind === 'simulate'
      ? this.queues.simulate
      : kind === 'fusion'
        ? this.queues.fusion
        : this.queues.capacity;
  }

  /** Whether the run is still in Redis (waiting, delayed, active, or finished and kept). */
  async has(kind: JobKind, runId: string): Promise<boolean> {
    return (await this.queueOf(kind).getJob(runId)) !== undefined;
  }

  /**
   * Takes a run out of its queue: waiting or delayed entries are removed (a capacity plan's flow
   * with its children); a running one cannot be, its worker stops at its next check of the row.
   */
  async cancel(kind: JobKind, runId: string): Promise<void> {
    await this.queueOf(kind).remove(runId, { removeChildren: true });
  }

  /**
   * Removes what is left in Redis of a finished run before it is queued again under the same id
   * (BullMQ keeps failed entries, and ignores a new job whose id it still holds): the run, and a
   * capacity plan's point children. False when an entry is still locked by a worker that is
   * stopping it (a cancelled run), so the caller can ask to try again.
   */
  async forget(kind: JobKind, runId: string, points = 0): Promise<boolean> {
    // remove() answers 0 when the entry (or one of its children) is locked, 1 otherwise.
    if ((await this.queueOf(kind).remove(runId, { removeChildren: true })) === 0) return false;
    for (let i = 0; i < points; i++)
      if ((await this.queues.simulate.remove(capacityPointJobId(runId, i))) === 0) return false;
    return true;
  }

  async counts(): Promise<Record<QueueName, Record<string, number>>> {
    const out = {} as Record<QueueName, Record<string, number>>;
    for (const [name, q] of Object.entries(this.queues) as Array<[QueueName, Queue]>) {
      out[name] = await q.getJobCounts(
        'waiting',
        'active',
        'delayed',
        'failed',
        'completed',
        'waiting-children',
      );
    }
    return out;
  }

  async close(): Promise<void> {
    await Promise.all([...Object.values(this.queues).map((q) => q.close()), this.flows.close()]);
  }
}
