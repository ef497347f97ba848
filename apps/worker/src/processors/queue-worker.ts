import { Logger, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import { UnrecoverableError, Worker, type Job } from 'bullmq';
import { Redis } from 'ioredis';
import type { QueueName } from '@kvplan/contracts';
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
        return handler(job);
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
    this.worker.on('completed', (job, ret) => this.logger.log(`${job.name} ${job.id}: ${String(ret)}`));
    this.worker.on('failed', (job, err) =>
      this.logger.warn(`${job?.name} ${job?.id} attempt ${job?.attemptsMade}: ${err.message}`),
    );
    this.worker.on('error', (err) => this.logger.error(err.message));
    this.logger.log(`consuming (concurrency ${this.concurrency})`);
  }

  async onApplicationShutdown(): Promise<void> {
    await this.worker?.close();
    await this.connection?.quit().catch(() => undefined);
  }
}
