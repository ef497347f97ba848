import type { DataSource, Repository } from 'typeorm';
import { KvSampleEntity } from '../entities/kv-sample.entity';
import { TraceEntity } from '../entities/trace.entity';
import { newestFirstPage, type Page, type PageQuery } from './paging';

/** Metadata rows of uploaded files (the files themselves live on the storage volume). */
class UploadRepository<E extends TraceEntity | KvSampleEntity> {
  protected readonly repo: Repository<E>;

  constructor(dataSource: DataSource, entity: new () => E) {
    this.repo = dataSource.getRepository(entity);
  }

  insert(row: Omit<E, 'createdAt' | 'workspace'>): Promise<E> {
    return this.repo.save(this.repo.create(row as unknown as E));
  }

  get(workspaceId: string, id: string): Promise<E | null> {
    return this.repo
      .createQueryBuilder('u')
      .where('u.id = :id AND u.workspace_id = :ws', { id, ws: workspaceId })
      .getOne();
  }

  list(workspaceId: string, q: PageQuery): Promise<Page<E>> {
    const qb = this.repo.createQueryBuilder('u').where('u.workspace_id = :ws', { ws: workspaceId });
    return newestFirstPage(qb, 'u', q);
  }

  /** The newest upload of any workspace (the worker checks at boot that it sees its file). */
  newest(): Promise<E | null> {
    return this.repo.createQueryBuilder('u').orderBy('u.created_at', 'DESC').limit(1).getOne();
  }

  /** Deletes the row; returns it (so the caller removes the file), or null when absent. */
  async delete(workspaceId: string, id: string): Promise<E | null> {
    const row = await this.get(workspaceId, id);
    if (!row) return null;
    await this.repo
      .createQueryBuilder()
      .delete()
      .where('id = :id AND workspace_id = :ws', { id, ws: workspaceId })
      .execute();
    return row;
  }
}

export class TraceRepository extends UploadRepository<TraceEntity> {
  constructor(dataSource: DataSource) {
    super(dataSource, TraceEntity);
  }
}

export class KvSampleRepository extends UploadRepository<KvSampleEntity> {
  constructor(dataSource: DataSource) {
    super(dataSource, KvSampleEntity);
  }

  forWorkload(workspaceId: string, workloadProfileId: string): Promise<KvSampleEntity[]> {
    return this.repo
      .createQueryBuilder('k')
      .where('k.workspace_id = :ws AND k.workload_profile_id = :wp', {
        ws: workspaceId,
        wp: workloadProfileId,
      })
      .orderBy('k.created_at', 'ASC')
      .getMany();
  }
}
