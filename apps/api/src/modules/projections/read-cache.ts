import { Inject, Injectable } from '@nestjs/common';
import type { ApiConfig } from '../../config/config';
import { API_CONFIG } from '../../infra/tokens';

/** Largest total of cached documents, bytes. */
const MAX_BYTES = 64 * 1024 * 1024;

/**
 * The JSON of finished projections (their job succeeded or failed: the worker no longer changes
 * the document), kept for READ_CACHE_TTL_MS per (workspace, id) so repeated reads of a result do
 * not each cost a database round trip. Oldest entries go first when the byte budget is full.
 *
 * What the api itself changes is never served stale: every write request of a workspace (cancel,
 * retry, a delete that clears a projection's reference, ...) ends with `changed(workspace)`
 * (one hook for all routes: `dropCachedReadsOnWrites`), which drops all of the workspace's
 * documents. A read records the workspace's generation before it queries and stores its document
 * only if no write finished meanwhile, so a read that raced a retry cannot put the failed
 * document back. Only what changes outside the api's requests (a retention sweep deleting a
 * finished projection) may be served for at most the TTL.
 */
@Injectable()
export class ProjectionReadCache {
  private readonly entries = new Map<string, { body: Buffer; until: number; generation: number }>();
  /** Per workspace: how many writes have finished (absent: none since the process started). */
  private readonly generations = new Map<string, number>();
  private bytes = 0;

  constructor(@Inject(API_CONFIG) private readonly config: ApiConfig) {}

  /** The workspace's generation, for `set`: take it before reading the document. */
  generation(workspaceId: string): number {
    return this.generations.get(workspaceId) ?? 0;
  }

  get(workspaceId: string, id: string): Buffer | undefined {
    const key = `${workspaceId}/${id}`;
    const hit = this.entries.get(key);
    if (!hit) return undefined;
    if (hit.until > Date.now() && hit.generation === this.generation(workspaceId)) return hit.body;
    this.drop(key);
    return undefined;
  }

  /**
   * Kept as UTF-8 bytes: a hit is sent without encoding the text again. `generation`: the
   * workspace's when the document was read; a write finished since then leaves it uncached.
   */
  set(workspaceId: string, id: string, body: Buffer, generation: number): void {
    const ttl = this.config.readCacheTtlMs;
    const size = body.length;
    if (ttl <= 0 || size > MAX_BYTES / 16 || generation !== this.generation(workspaceId)) return;
    const key = `${workspaceId}/${id}`;
    this.drop(key);
    while (this.bytes + size > MAX_BYTES && this.entries.size) this.drop(this.entries.keys().next().value!);
    this.entries.set(key, { body, until: Date.now() + ttl, generation });
    this.bytes += size;
  }

  /** A write of the workspace finished: none of its cached documents is served again. */
  changed(workspaceId: string): void {
    this.generations.set(workspaceId, this.generation(workspaceId) + 1);
  }

  private drop(key: string): void {
    const e = this.entries.get(key);
    if (!e) return;
    this.bytes -= e.body.length;
    this.entries.delete(key);
  }
}
