import { randomUUID } from 'node:crypto';
import type {
  DataSource,
  DeepPartial,
  EntityTarget,
  FindOptionsRelations,
  FindOptionsWhere,
  ObjectLiteral,
  QueryDeepPartialEntity,
  Repository,
  SelectQueryBuilder,
} from 'typeorm';
import type { JobKind } from '@kvplan/contracts';
import type { JobEntity } from '../entities/job.entity';
import { JobRepository } from './job.repository';
import { newestFirstPage, type Page, type PageQuery } from './paging';

/** A row computed by one job: projections and capacity plans. */
export interface JobSubject extends ObjectLiteral {
  id: string;
  workspaceId: string;
  jobId: string;
  job?: JobEntity;
  result: Record<string, unknown> | null;
}

/**
 * What projections and capacity plans share: created together with their queued job (whose id
 * is the run id), read with it, listed per workspace newest first, and given their result once.
 */
export abstract class JobSubjectRepository<E extends JobSubject> {
  protected readonly repo: Repository<E>;
  protected readonly jobs: JobRepository;

  constructor(
    protected readonly dataSource: DataSource,
    private readonly entity: EntityTarget<E>,
    private readonly kind: JobKind,
  ) {
    this.repo = dataSource.getRepository(entity);
    this.jobs = new JobRepository(dataSource);
  }

  /** Inserts the row and its queued job in one transaction. */
  protected insertWithJob(workspaceId: string, input: DeepPartial<E>): Promise<{ row: E; job: JobEntity }> {
    return this.dataSource.transaction(async (em) => {
      const id = randomUUID();
      const job = await this.jobs.insertQueued(
        { id: randomUUID(), workspaceId, kind: this.kind, subjectId: id },
        em,
      );
      const values = { ...input, id, workspaceId, jobId: job.id, result: null, resultAt: null };
      const row = await em.save(em.create(this.entity, values as DeepPartial<E>));
      return { row, job };
    });
  }

  get(workspaceId: string, id: string): Promise<E | null> {
    return this.repo.findOne({
      where: { id, workspaceId } as FindOptionsWhere<E>,
      relations: { job: true } as FindOptionsRelations<E>,
    });
  }

  getById(id: string): Promise<E | null> {
    return this.repo.findOneBy({ id } as FindOptionsWhere<E>);
  }

  /** One page of the workspace's rows with their jobs, newest first; `filter` narrows it. */
  protected page(
    workspaceId: string,
    q: PageQuery,
    filter?: (qb: SelectQueryBuilder<E>) => void,
  ): Promise<Page<E>> {
    const qb = this.repo
      .createQueryBuilder('r')
      .leftJoinAndSelect('r.job', 'job')
      .where('r.workspace_id = :ws', { ws: workspaceId });
    filter?.(qb);
    return newestFirstPage(qb, 'r', q);
  }

  /**
   * Stores the result and marks the job succeeded, in one transaction, only while the job is
   * queued or running: a cancelled (failed) job never gets a result and stays cancelled, and a
   * cancel that comes while this commits waits for it and finds the job succeeded. Idempotent:
   * when a result is already there (the run was delivered twice) nothing is overwritten; returns
   * whether this call wrote it.
   */
  async saveResult(id: string, jobId: string, result: object): Promise<boolean> {
    return this.dataSource.transaction(async (em) => {
      if (!(await this.jobs.markSucceeded(jobId, em))) return false;
      const res = await em
        .createQueryBuilder()
        .update(this.entity)
        .set({ result, resultAt: () => 'now()' } as unknown as QueryDeepPartialEntity<E>)
        .where('id = :id AND result IS NULL', { id })
        .execute();
      return (res.affected ?? 0) > 0;
    });
  }
}
