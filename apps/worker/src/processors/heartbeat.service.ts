import { randomBytes } from 'node:crypto';
import * as os from 'node:os';
import {
  Inject,
  Injectable,
  Logger,
  type OnApplicationBootstrap,
  type OnApplicationShutdown,
} from '@nestjs/common';
import { Redis } from 'ioredis';
import {
  HEARTBEAT_INTERVAL_MS,
  HEARTBEAT_TTL_S,
  workerHeartbeatKey,
  type WorkerHeartbeat,
} from '@kvplan/observability';
import type { WorkerConfig } from '../config';
import { WORKER_CONFIG } from '../tokens';
import { CapacityProcessor, FusionProcessor, SimulateProcessor } from './processors';

/**
 * Writes this worker's heartbeat to Redis every few seconds (a key that expires unless renewed),
 * which the api turns into `kvplan_workers` and per-worker gauges on /metrics. The key is removed
 * at a graceful shutdown, so a stopped worker stops being counted at once.
 */
@Injectable()
export class HeartbeatService implements OnApplicationBootstrap, OnApplicationShutdown {
  readonly workerId = `${os.hostname()}:${process.pid}:${randomBytes(3).toString('hex')}`;
  private readonly startedAt = new Date().toISOString();
  private readonly logger = new Logger('heartbeat');
  private redis?: Redis;
  private timer?: NodeJS.Timeout;

  constructor(
    @Inject(WORKER_CONFIG) private readonly config: WorkerConfig,
    private readonly simulate: SimulateProcessor,
    private readonly capacity: CapacityProcessor,
    private readonly fusion: FusionProcessor,
  ) {}

  /** The document this worker publishes now. */
  snapshot(): WorkerHeartbeat {
    const processors = [this.simulate, this.capacity, this.fusion].filter((p) => p.consuming);
    const sum = (k: 'active' | 'completed' | 'failed') => processors.reduce((s, p) => s + p.stats[k], 0);
    return {
      workerId: this.workerId,
      hostname: os.hostname(),
      pid: process.pid,
      queues: this.config.queues,
      startedAt: this.startedAt,
      sentAt: new Date().toISOString(),
      active: sum('active'),
      completed: sum('completed'),
      failed: sum('failed'),
    };
  }

  onApplicationBootstrap(): void {
    this.redis = new Redis(this.config.redisUrl, { maxRetriesPerRequest: 2, lazyConnect: false });
    this.redis.on('error', () => undefined); // a Redis outage shows as a missing heartbeat
    const beat = () =>
      void this.redis
        ?.set(this.key(), JSON.stringify(this.snapshot()), 'EX', HEARTBEAT_TTL_S)
        .catch((err: Error) => this.logger.warn(`heartbeat not written: ${err.message}`));
    beat();
    this.timer = setInterval(beat, HEARTBEAT_INTERVAL_MS);
    this.timer.unref();
  }

  async onApplicationShutdown(): Promise<void> {
    clearInterval(this.timer);
    await this.redis?.del(this.key()).catch(() => undefined);
    await this.redis?.quit().catch(() => undefined);
  }

  private key(): string {
    return workerHeartbeatKey(this.config.queuePrefix, this.workerId);
  }
}
