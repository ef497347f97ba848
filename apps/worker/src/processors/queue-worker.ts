import { Logger, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import { UnrecoverableError, Worker, type Job } from 'bullmq';
import { Redis } from 'ioredis';
import type { QueueName } from '@kvplan/contracts';
import { runWithContext } from '@kvplan/observability';
import type { WorkerConfig } from '../config';

export type JobHandler = (job: Job) => Promise<string>;

/**
 * One BullMQ Worker for one queue, dispatching by job name (each name has exactly one handler).
 * Graceful shutdown: on SIGTERM the app closes, `close()` stops taking jobs and waits for the
 * running ones. Lock duration and stalled interval come from the config (short in tests), so a
 * job of a killed worker is picked up again quickly.
 */
export abstract class QueueProcessor implements OnApplicationBootstrap, OnApplicationShutdown {
  private worker?: Worker;
  private connection?: Redis;
  protected readonly logger: Logger;
  /** Jobs of this queue running now and finished since start (the worker heartbeat reports them). */
  readonly stats = { active: 0, completed: 0, failed: 0 };

  protected constructor(
    private readonly queue: QueueName,
    private readonly config: WorkerConfig,
    private readonly handlers: Record<string, JobHandler>,
    private readonly concurrency: number,
  ) {
    this.logger = new Logger(`queue:${queue}`);
  }

  onApplicationBootstrap(): void {
    if (!this.config.queues.includes(this.queue)) return;
    this.connection = new Redis(this.config.redisUrl, { maxRetriesPerRequest: null });
    this.worker = new Worker(
      this.queue,
      async (job) => {
        const handler = this.handlers[job.name];
        if (!handler) throw new UnrecoverableError(`no handler for job "${job.name}" on queue ${this.queue}`);
        // Every log line of the job (handlers, repositories, Nest) carries these fields.
        const data = job.data as { requestId?: unknown } | undefined;
        const requestId = typeof data?.requestId === 'string' ? data.requestId : undefined;
        return runWithContext(
          { requestId, jobId: job.id, jobName: job.name, queue: this.queue },
          async () => {
            const started = Date.now();
            this.stats.active++;
            this.logger.log({ msg: 'job started', attempt: job.attemptsMade + 1 });
            try {
              const out = await handler(job);
              this.stats.completed++;
              this.logger.log({ msg: 'job done', outcome: out, durationMs: Date.now() - started });
              return out;
            } catch (err) {
              this.stats.failed++;
              this.logger.warn({
                msg: 'job attempt failed',
                error: (err as Error).message,
                attempt: job.attemptsMade + 1,
                durationMs: Date.now() - started,
              });
              throw err;
            } finally {
              this.stats.active--;
            }
          },
        );
      },
      {
        connection: this.connection,
        prefix: this.config.queuePrefix,
        concurrency: this.concurrency,
        lockDuration: this.config.lockDurationMs,
        stalledInterval: this.config.stalledIntervalMs,
        maxStalledCount: 2,
      },
    );
    this.worker.on('error', (err) => this.logger.error(err.message));
    this.logger.log(`consuming (concurrency ${this.concurrency})`);
  }

  /** Whether this process consumes the queue (QUEUES). */
  get consuming(): boolean {
    return this.config.queues.includes(this.queue);
  }

  async onApplicationShutdown(): Promise<void> {
    await this.worker?.close();
    await this.connection?.quit().catch(() => undefined);
  }
}
