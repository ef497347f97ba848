import * as fs from 'node:fs';
import * as path from 'node:path';
import {
  Inject,
  Injectable,
  Logger,
  type OnApplicationBootstrap,
  type OnApplicationShutdown,
} from '@nestjs/common';
import { RetentionRepository, type RetentionOutcome } from '@kvplan/db';
import type { WorkerConfig } from '../config';
import { WORKER_CONFIG } from '../tokens';

/** First sweep this long after boot (the database is up; jobs start first). */
const FIRST_SWEEP_DELAY_MS = 10_000;

/**
 * Enforces each workspace's `retentionDays`: every RETENTION_SWEEP_INTERVAL_MS it deletes, per
 * workspace, uploads (traces no workload profile uses, KV samples) and finished results
 * (projections, capacity plans, fusion profiles, their jobs) older than that, then the uploaded
 * files. One worker sweeps at a time (a PostgreSQL advisory lock); every statement names one
 * workspace, so no other workspace's rows are touched.
 */
@Injectable()
export class RetentionService implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger('retention');
  private timer?: NodeJS.Timeout;
  private running: Promise<unknown> | null = null;
  private readonly root: string;

  constructor(
    @Inject(WORKER_CONFIG) private readonly config: WorkerConfig,
    private readonly repo: RetentionRepository,
  ) {
    this.root = path.resolve(config.storageDir);
  }

  onApplicationBootstrap(): void {
    const every = this.config.retentionSweepIntervalMs;
    if (every > 0) this.schedule(Math.min(FIRST_SWEEP_DELAY_MS, every));
  }

  private schedule(delayMs: number): void {
    this.timer = setTimeout(() => {
      this.running ??= this.sweep()
        .catch((err: Error) => this.logger.warn(`retention sweep failed: ${err.message}`))
        .finally(() => (this.running = null));
      this.schedule(this.config.retentionSweepIntervalMs);
    }, delayMs);
    this.timer.unref();
  }

  /** One sweep over every workspace with a retention setting; null when another worker holds the lock. */
  async sweep(): Promise<RetentionOutcome[] | null> {
    return this.repo.withSweepLock(async () => {
      const out: RetentionOutcome[] = [];
      for (const ws of await this.repo.workspacesWithRetention()) {
        const r = await this.repo.sweepWorkspace(ws.id, ws.retentionDays);
        for (const f of r.files) this.removeFile(f);
        if (r.traces + r.kvSamples + r.jobs > 0)
          this.logger.log({
            msg: 'retention: deleted expired rows',
            workspaceId: r.workspaceId,
            retentionDays: r.retentionDays,
            traces: r.traces,
            kvSamples: r.kvSamples,
            jobs: r.jobs,
            tracesKeptInUse: r.tracesInUse,
          });
        out.push(r);
      }
      return out;
    });
  }

  private removeFile(rel: string): void {
    const abs = path.resolve(this.root, rel);
    if (!abs.startsWith(this.root + path.sep)) return;
    try {
      fs.rmSync(abs, { force: true });
    } catch (err) {
      this.logger.warn(`retention: could not remove ${rel}: ${(err as Error).message}`);
    }
  }

  async onApplicationShutdown(): Promise<void> {
    clearTimeout(this.timer);
    await this.running;
  }
}
