import * as fs from 'node:fs';
import * as path from 'node:path';
import { Inject, Injectable } from '@nestjs/common';
import type { Logger } from 'pino';
import { KvSampleRepository, TraceRepository } from '@kvplan/db';
import type { WorkerConfig } from './config';
import { WORKER_CONFIG } from './tokens';

/**
 * At boot: does this worker see the files the api stored? It looks for the newest trace and KV
 * sample under its STORAGE_DIR and says so at once when one is missing (otherwise every job of
 * an upload would fail later with a missing file).
 */
@Injectable()
export class StorageCheck {
  constructor(
    private readonly traces: TraceRepository,
    private readonly kvSamples: KvSampleRepository,
    @Inject(WORKER_CONFIG) private readonly config: WorkerConfig,
  ) {}

  async newestUploadVisible(logger: Logger): Promise<boolean> {
    const rows = await Promise.all([this.traces.newest(), this.kvSamples.newest()]);
    let ok = true;
    for (const row of rows) {
      if (!row || fs.existsSync(path.join(this.config.storageDir, row.storagePath))) continue;
      ok = false;
      logger.error(
        { storageDir: this.config.storageDir, missing: row.storagePath },
        'this worker does not see the uploads: the newest one is not under STORAGE_DIR; give the api and the workers the same storage root',
      );
    }
    return ok;
  }
}
