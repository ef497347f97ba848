import { Inject, Injectable, Logger } from '@nestjs/common';
import { Redis } from 'ioredis';
import { Gauge } from 'prom-client';
import { DashboardRepository } from '@kvplan/db';
import { parseHeartbeat, workerHeartbeatPattern, type WorkerHeartbeat } from '@kvplan/observability';
import type { ApiConfig } from '../../config/config';
import { API_CONFIG } from '../../infra/tokens';
import { MetricsService } from '../health/metrics.service';

/**
 * The workers alive now (their Redis heartbeats, see @kvplan/observability), for the dashboard's
 * jobs page and for /metrics: worker count per queue, jobs running per worker, jobs finished per
 * worker and outcome, heartbeat age; and projections created and completed in the last hour.
 */
@Injectable()
export class WorkersService {
  private readonly logger = new Logger('metrics');

  constructor(
    @Inject(Redis) private readonly redis: Redis,
    @Inject(API_CONFIG) private readonly config: ApiConfig,
    private readonly dashboard: DashboardRepository,
    metrics: MetricsService,
  ) {
    const registers = [metrics.registry];
    // Inside collect() `this` is the gauge: reach the service through these.
    const workers = () => this.liveOrEmpty();
    const lastHour = () => this.dashboard.projectionsLastHour();
    const warn = (msg: string) => this.logger.warn(msg);
    new Gauge({
      name: 'kvplan_workers',
      help: 'Live workers (heartbeat within its time-to-live), by queue consumed',
      labelNames: ['queue'],
      registers,
      async collect() {
        this.reset();
        const live = await workers();
        this.set({ queue: 'any' }, live.length);
        for (const q of ['simulate', 'capacity', 'fusion'])
          this.set({ queue: q }, live.filter((w) => w.queues.includes(q)).length);
      },
    });
    new Gauge({
      name: 'kvplan_worker_jobs_active',
      help: 'Jobs a worker is running now',
      labelNames: ['worker'],
      registers,
      async collect() {
        this.reset();
        for (const w of await workers()) this.set({ worker: w.workerId }, w.active);
      },
    });
    new Gauge({
      name: 'kvplan_worker_jobs_finished',
      help: 'Job attempts a worker finished since it started, by outcome (resets when it restarts)',
      labelNames: ['worker', 'outcome'],
      registers,
      async collect() {
        this.reset();
        for (const w of await workers()) {
          this.set({ worker: w.workerId, outcome: 'completed' }, w.completed);
          this.set({ worker: w.workerId, outcome: 'failed' }, w.failed);
        }
      },
    });
    new Gauge({
      name: 'kvplan_worker_heartbeat_age_seconds',
      help: 'Seconds since the worker last wrote its heartbeat',
      labelNames: ['worker'],
      registers,
      async collect() {
        this.reset();
        const now = Date.now();
        for (const w of await workers())
          this.set({ worker: w.workerId }, Math.max(0, (now - Date.parse(w.sentAt)) / 1000));
      },
    });
    new Gauge({
      name: 'kvplan_projections_last_hour',
      help: 'Projections created and completed in the last hour (every workspace)',
      labelNames: ['state'],
      registers,
      async collect() {
        try {
          const r = await lastHour();
          this.set({ state: 'created' }, r.created);
          this.set({ state: 'completed' }, r.completed);
        } catch (err) {
          warn(`projection metrics unavailable: ${(err as Error).message}`);
        }
      },
    });
  }

  /** Heartbeats of the live workers of this queue prefix, newest first. */
  async live(): Promise<WorkerHeartbeat[]> {
    const keys: string[] = [];
    let cursor = '0';
    do {
      const [next, batch] = await this.redis.scan(
        cursor,
        'MATCH',
        workerHeartbeatPattern(this.config.queuePrefix),
        'COUNT',
        200,
      );
      cursor = next;
      keys.push(...batch);
    } while (cursor !== '0' && keys.length < 10_000);
    if (!keys.length) return [];
    const values = await this.redis.mget(...keys);
    return values
      .map(parseHeartbeat)
      .filter((w): w is WorkerHeartbeat => w !== null)
      .sort((a, b) => b.sentAt.localeCompare(a.sentAt));
  }

  private cached: { at: number; workers: Promise<WorkerHeartbeat[]> } | null = null;

  /** One Redis read per scrape, shared by the gauges (kept a second). */
  private liveOrEmpty(): Promise<WorkerHeartbeat[]> {
    const now = Date.now();
    if (this.cached && now - this.cached.at < 1000) return this.cached.workers;
    const workers = this.live().catch((err: Error) => {
      this.logger.warn(`worker heartbeats unavailable: ${err.message}`);
      return [];
    });
    this.cached = { at: now, workers };
    return workers;
  }
}
