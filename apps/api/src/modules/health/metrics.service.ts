import { Injectable, Logger } from '@nestjs/common';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { DataSource } from 'typeorm';
import { JobRepository } from '@kvplan/db';
import { JobQueues } from '../../infra/job-queues';

/**
 * Prometheus metrics: API latency (recorded by a Fastify hook), and on each scrape the jobs per
 * status (PostgreSQL), the queues' counts (Redis) and job durations of the last hour.
 */
@Injectable()
export class MetricsService {
  readonly registry = new Registry();
  private readonly logger = new Logger('metrics');
  readonly httpDuration = new Histogram({
    name: 'kvplan_http_request_duration_seconds',
    help: 'API request latency',
    labelNames: ['method', 'route', 'status'],
    buckets: [0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    registers: [this.registry],
  });
  readonly httpErrors = new Counter({
    name: 'kvplan_http_errors_total',
    help: 'API responses with status >= 400',
    labelNames: ['status'],
    registers: [this.registry],
  });
  private readonly jobsByStatus = new Gauge({
    name: 'kvplan_jobs',
    help: 'Jobs by status (PostgreSQL rows)',
    labelNames: ['status'],
    registers: [this.registry],
  });
  private readonly queueJobs = new Gauge({
    name: 'kvplan_queue_jobs',
    help: 'BullMQ jobs by queue and state',
    labelNames: ['queue', 'state'],
    registers: [this.registry],
  });
  private readonly jobDuration = new Gauge({
    name: 'kvplan_job_duration_seconds',
    help: 'Durations of jobs finished in the last hour, by kind and quantile',
    labelNames: ['kind', 'quantile'],
    registers: [this.registry],
  });

  constructor(
    private readonly jobs: JobRepository,
    private readonly queues: JobQueues,
    private readonly ds: DataSource,
  ) {
    collectDefaultMetrics({ register: this.registry, prefix: 'kvplan_api_' });
  }

  async scrape(): Promise<string> {
    try {
      const counts = await this.jobs.countByStatus();
      for (const [status, n] of Object.entries(counts)) this.jobsByStatus.set({ status }, n);
      const q = await this.queues.counts();
      for (const [queue, states] of Object.entries(q))
        for (const [state, n] of Object.entries(states)) this.queueJobs.set({ queue, state }, n);
      const rows: Array<{ kind: string; p50: number; p90: number; p99: number }> = await this.ds.query(
        `SELECT kind,
                percentile_cont(0.5) WITHIN GROUP (ORDER BY d) AS p50,
                percentile_cont(0.9) WITHIN GROUP (ORDER BY d) AS p90,
                percentile_cont(0.99) WITHIN GROUP (ORDER BY d) AS p99
           FROM (SELECT kind, EXTRACT(EPOCH FROM finished_at - started_at) AS d FROM jobs
                  WHERE status = 'succeeded' AND finished_at > now() - interval '1 hour' AND started_at IS NOT NULL) t
          GROUP BY kind`,
      );
      this.jobDuration.reset();
      for (const r of rows) {
        this.jobDuration.set({ kind: r.kind, quantile: '0.5' }, Number(r.p50));
        this.jobDuration.set({ kind: r.kind, quantile: '0.9' }, Number(r.p90));
        this.jobDuration.set({ kind: r.kind, quantile: '0.99' }, Number(r.p99));
      }
    } catch (err) {
      this.logger.warn(`job metrics unavailable: ${(err as Error).message}`);
    }
    return this.registry.metrics();
  }
}
