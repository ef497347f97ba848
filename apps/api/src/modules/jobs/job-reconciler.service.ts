import {
  Inject,
  Injectable,
  Logger,
  type OnApplicationBootstrap,
  type OnApplicationShutdown,
} from '@nestjs/common';
import { Redis } from 'ioredis';
import { CapacityPlanRepository, JobRepository, type JobEntity } from '@kvplan/db';
import type { ApiConfig } from '../../config/config';
import { JobQueues } from '../../infra/job-queues';
import { API_CONFIG } from '../../infra/tokens';

/** Rows looked at per pass. */
const BATCH = 500;

/**
 * Re-enqueues runs whose rows are `queued` or `running` but whose queue entries are gone (Redis
 * restarted empty, or lost its data): nothing is lost. Idempotent: the run id is the BullMQ job
 * id, so a run already queued is not queued twice, and a worker that gets a finished run again
 * leaves it alone. Runs every RECONCILE_INTERVAL_MS and when the Redis connection comes back;
 * rows younger than RECONCILE_GRACE_MS are skipped (their request may still be queueing them).
 */
@Injectable()
export class JobReconciler implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger('reconciler');
  private timer?: NodeJS.Timeout;
  private running = false;

  constructor(
    private readonly jobs: JobRepository,
    private readonly plans: CapacityPlanRepository,
    private readonly queues: JobQueues,
    @Inject(Redis) private readonly redis: Redis,
    @Inject(API_CONFIG) private readonly config: ApiConfig,
  ) {}

  onApplicationBootstrap(): void {
    const every = this.config.reconcileIntervalMs;
    if (every === 0) return;
    this.timer = setInterval(() => void this.tick(), every);
    this.timer.unref();
    this.redis.on('ready', this.onReady);
  }

  onApplicationShutdown(): void {
    clearInterval(this.timer);
    this.redis.off('ready', this.onReady);
  }

  private readonly onReady = (): void => {
    setTimeout(() => void this.tick(), 200).unref();
  };

  private async tick(): Promise<void> {
    if (this.running || this.redis.status !== 'ready') return;
    this.running = true;
    try {
      const n = await this.reconcile();
      if (n > 0) this.logger.warn({ msg: 're-enqueued runs missing from the queue', count: n });
    } catch (err) {
      this.logger.debug(`reconcile pass skipped: ${(err as Error).message}`);
    } finally {
      this.running = false;
    }
  }

  /** One pass; returns how many runs it re-enqueued. */
  async reconcile(): Promise<number> {
    const rows = await this.jobs.unfinished(new Date(Date.now() - this.config.reconcileGraceMs), BATCH);
    let requeued = 0;
    for (const row of rows) {
      if (await this.queues.has(row.kind, row.id)) continue;
      if (await this.requeue(row)) requeued++;
    }
    return requeued;
  }

  /**
   * Puts a row's run in its queue (idempotent: the run id is the job id); false without its plan.
   * A capacity plan's flow gets only the points whose results are not stored (a retried or lost
   * plan keeps what it computed: each point is a deterministic simulation of the plan's spec
   * snapshot and pinned fusion profile, so running it again would give the same row).
   */
  async requeue(row: JobEntity): Promise<boolean> {
    const base = { workspaceId: row.workspaceId, runId: row.id };
    if (row.kind === 'simulate')
      await this.queues.enqueueProjection({ ...base, projectionId: row.subjectId });
    else if (row.kind === 'fusion')
      await this.queues.enqueueFusionProfile({ ...base, fusionProfileId: row.subjectId });
    else {
      const plan = await this.plans.getById(row.subjectId);
      if (!plan) return false;
      const stored = new Set(await this.plans.storedPointIndexes(plan.id));
      const missing = plan.points.map((_, i) => i).filter((i) => !stored.has(i));
      await this.queues.enqueueCapacityPlan({ ...base, capacityPlanId: plan.id }, missing);
    }
    return true;
  }
}
