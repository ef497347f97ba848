import { randomUUID } from 'node:crypto';
import type { DataSource, QueryDeepPartialEntity, Repository } from 'typeorm';
import { JobEntity } from '../entities/job.entity';
import { ProjectionEntity } from '../entities/projection.entity';
import { JobRepository } from './job.repository';
import type { Page, PageQuery } from './paging';

export interface NewProjection {
  workloadProfileId: string | null;
  deploymentId: string | null;
  fusionConfigId: string | null;
  spec: Record<string, unknown>;
}

/** Projections and their job rows. */
export class ProjectionRepository {
  private readonly repo: Repository<ProjectionEntity>;
  private readonly jobs: JobRepository;

  constructor(private readonly dataSource: DataSource) {
    this.repo = dataSource.getRepository(ProjectionEntity);
    this.jobs = new JobRepository(dataSource);
  }

  /** Inserts the projection and its queued job in one transaction; the job id is the run id. */
  async createWithJob(
    workspaceId: string,
    input: NewProjection,
  ): Promise<{ projection: ProjectionEntity; job: JobEntity }> {
    return this.dataSource.transaction(async (em) => {
      const id = randomUUID();
      const job = await this.jobs.insertQueued(
        { id: randomUUID(), workspaceId, kind: 'simulate', subjectId: id },
        em,
      );
      const projection = await em.save(
        em.create(ProjectionEntity, {
          ...input,
          id,
          workspaceId,
          jobId: job.id,
          result: null,
          resultAt: null,
        }),
      );
      return { projection, job };
    });
  }

  get(workspaceId: string, id: string): Promise<ProjectionEntity | null> {
    return this.repo.findOne({ where: { id, workspaceId }, relations: { job: true } });
  }

  getById(id: string): Promise<ProjectionEntity | null> {
    return this.repo.findOneBy({ id });
  }

  async list(
    workspaceId: string,
    q: PageQuery & { workloadProfileId?: string },
  ): Promise<Page<ProjectionEntity>> {
    const qb = this.repo
      .createQueryBuilder('p')
      .leftJoinAndSelect('p.job', 'job')
      .where('p.workspace_id = :ws', { ws: workspaceId });
    if (q.workloadProfileId) qb.andWhere('p.workload_profile_id = :wp', { wp: q.workloadProfileId });
    const [items, total] = await qb
      .orderBy('p.created_at', 'DESC')
      .addOrderBy('p.id', 'DESC')
      .take(q.limit)
      .skip(q.offset)
      .getManyAndCount();
    return { items, total, limit: q.limit, offset: q.offset };
  }

  /**
   * Stores the result and marks the job succeeded, in one transaction. Idempotent: when a result
   * is already there (the run was delivered twice) nothing is overwritten; returns whether this
   * call wrote it.
   */
  async saveResult(id: string, jobId: string, result: Record<string, unknown>): Promise<boolean> {
    return this.dataSource.transaction(async (em) => {
      const res = await em
        .createQueryBuilder()
        .update(ProjectionEntity)
        .set({ result, resultAt: () => 'now()' } as QueryDeepPartialEntity<ProjectionEntity>)
        .where('id = :id AND result IS NULL', { id })
        .execute();
      await this.jobs.markSucceeded(jobId, em);
      return (res.affected ?? 0) > 0;
    });
  }
}
