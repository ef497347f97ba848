import { Inject, Injectable } from '@nestjs/common';
import type { ApiConfig } from '../../config/config';
import { API_CONFIG } from '../../infra/tokens';

/** Largest total of cached documents, bytes. */
const MAX_BYTES = 64 * 1024 * 1024;

/**
 * The JSON of finished projections (their job succeeded or failed: the document no longer
 * changes), kept for READ_CACHE_TTL_MS per (workspace, id) so repeated reads of a result do not
 * each cost a database round trip. A projection deleted meanwhile (retention) may be served for
 * at most the TTL. Oldest entries go first when the byte budget is full.
 */
@Injectable()
export class ProjectionReadCache {
  private readonly entries = new Map<string, { body: Buffer; until: number }>();
  private bytes = 0;

  constructor(@Inject(API_CONFIG) private readonly config: ApiConfig) {}

  get(workspaceId: string, id: string): Buffer | undefined {
    const key = `${workspaceId}/${id}`;
    const hit = this.entries.get(key);
    if (!hit) return undefined;
    if (hit.until > Date.now()) return hit.body;
    this.drop(key);
    return undefined;
  }

  /** Kept as UTF-8 bytes: a hit is sent without encoding the text again. */
  set(workspaceId: string, id: string, body: Buffer): void {
    const ttl = this.config.readCacheTtlMs;
    const size = body.length;
    if (ttl <= 0 || size > MAX_BYTES / 16) return;
    const key = `${workspaceId}/${id}`;
    this.drop(key);
    while (this.bytes + size > MAX_BYTES && this.entries.size) this.drop(this.entries.keys().next().value!);
    this.entries.set(key, { body, until: Date.now() + ttl });
    this.bytes += size;
  }

  /** Forgets a projection's document (its job was queued again, so it changes once more). */
  invalidate(workspaceId: string, id: string): void {
    this.drop(`${workspaceId}/${id}`);
  }

  private drop(key: string): void {
    const e = this.entries.get(key);
    if (!e) return;
    this.bytes -= e.body.length;
    this.entries.delete(key);
  }
}
