import { randomUUID } from 'node:crypto';
import type { DataSource, QueryDeepPartialEntity, Repository } from 'typeorm';
import { IdempotencyKeyEntity } from '../entities/idempotency-key.entity';

export type ClaimOutcome =
  | { kind: 'claimed'; id: string }
  | { kind: 'replay'; status: number; body: unknown }
  | { kind: 'in-progress' }
  | { kind: 'mismatch' };

/** Idempotency-Key bookkeeping for POSTs. */
export class IdempotencyRepository {
  private readonly repo: Repository<IdempotencyKeyEntity>;

  constructor(dataSource: DataSource) {
    this.repo = dataSource.getRepository(IdempotencyKeyEntity);
  }

  /**
   * Claims the key for this request. Concurrent claims race on the unique (workspace, key)
   * index, so exactly one wins; the others see the winner's row.
   */
  async claim(workspaceId: string, key: string, requestHash: string): Promise<ClaimOutcome> {
    const id = randomUUID();
    const res = await this.repo
      .createQueryBuilder()
      .insert()
      .into(IdempotencyKeyEntity)
      .values({
        id,
        workspaceId,
        key,
        requestHash,
        state: 'pending',
        responseStatus: null,
      } as QueryDeepPartialEntity<IdempotencyKeyEntity>)
      .orIgnore()
      .returning(['id'])
      .execute();
    if ((res.raw as unknown[]).length > 0) return { kind: 'claimed', id };
    const row = await this.repo.findOneBy({ workspaceId, key });
    if (!row) return this.claim(workspaceId, key, requestHash); // released meanwhile
    if (row.requestHash !== requestHash) return { kind: 'mismatch' };
    if (row.state === 'pending') return { kind: 'in-progress' };
    return { kind: 'replay', status: row.responseStatus ?? 200, body: row.responseBody };
  }

  async complete(id: string, status: number, body: unknown): Promise<void> {
    await this.repo.update({ id }, { state: 'done', responseStatus: status, responseBody: body as object });
  }

  /** The handler failed: forget the claim so the client may retry with the same key. */
  async release(id: string): Promise<void> {
    await this.repo.delete({ id, state: 'pending' });
  }

  async purgeOlderThan(hours: number): Promise<number> {
    const res = await this.repo
      .createQueryBuilder()
      .delete()
      .where('created_at < now() - make_interval(hours => :hours)', { hours })
      .execute();
    return res.affected ?? 0;
  }
}
