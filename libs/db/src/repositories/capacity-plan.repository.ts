import { randomUUID } from 'node:crypto';
import type { DataSource, QueryDeepPartialEntity, Repository } from 'typeorm';
import type { CapacityMode } from '@kvplan/contracts';
import { CapacityPlanEntity, CapacityPointEntity } from '../entities/capacity-plan.entity';
import type { JobEntity } from '../entities/job.entity';
import { JobRepository } from './job.repository';
import type { Page, PageQuery } from './paging';

export interface NewCapacityPlan {
  mode: CapacityMode;
  spec: Record<string, unknown>;
  points: Array<Record<string, unknown>>;
  slo: Record<string, unknown> | null;
}

/** Capacity plans, their sweep points' results and their job rows. */
export class CapacityPlanRepository {
  private readonly repo: Repository<CapacityPlanEntity>;
  private readonly pointRepo: Repository<CapacityPointEntity>;
  private readonly jobs: JobRepository;

  constructor(private readonly dataSource: DataSource) {
    this.repo = dataSource.getRepository(CapacityPlanEntity);
    this.pointRepo = dataSource.getRepository(CapacityPointEntity);
    this.jobs = new JobRepository(dataSource);
  }

  async createWithJob(
    workspaceId: string,
    input: NewCapacityPlan,
  ): Promise<{ plan: CapacityPlanEntity; job: JobEntity }> {
    return this.dataSource.transaction(async (em) => {
      const id = randomUUID();
      const job = await this.jobs.insertQueued(
        { id: randomUUID(), workspaceId, kind: 'capacity', subjectId: id },
        em,
      );
      const plan = await em.save(
        em.create(CapacityPlanEntity, {
          ...input,
          id,
          workspaceId,
          jobId: job.id,
          result: null,
          resultAt: null,
        }),
      );
      return { plan, job };
    });
  }

  get(workspaceId: string, id: string): Promise<CapacityPlanEntity | null> {
    return this.repo.findOne({ where: { id, workspaceId }, relations: { job: true } });
  }

  getById(id: string): Promise<CapacityPlanEntity | null> {
    return this.repo.findOneBy({ id });
  }

  async list(workspaceId: string, q: PageQuery): Promise<Page<CapacityPlanEntity>> {
    const [items, total] = await this.repo
      .createQueryBuilder('c')
      .leftJoinAndSelect('c.job', 'job')
      .where('c.workspace_id = :ws', { ws: workspaceId })
      .orderBy('c.created_at', 'DESC')
      .addOrderBy('c.id', 'DESC')
      .take(q.limit)
      .skip(q.offset)
      .getManyAndCount();
    return { items, total, limit: q.limit, offset: q.offset };
  }

  /** Stores one point's result; a second write of the same point is ignored. Returns whether it wrote. */
  async savePoint(
    capacityPlanId: string,
    pointIndex: number,
    result: Record<string, unknown>,
  ): Promise<boolean> {
    const res = await this.pointRepo
      .createQueryBuilder()
      .insert()
      .into(CapacityPointEntity)
      .values({ capacityPlanId, pointIndex, result } as QueryDeepPartialEntity<CapacityPointEntity>)
      .orIgnore()
      .returning(['pointIndex'])
      .execute();
    return (res.raw as unknown[]).length > 0;
  }

  listPoints(capacityPlanId: string): Promise<CapacityPointEntity[]> {
    return this.pointRepo.find({ where: { capacityPlanId }, order: { pointIndex: 'ASC' } });
  }

  async saveResult(id: string, jobId: string, result: Record<string, unknown>): Promise<boolean> {
    return this.dataSource.transaction(async (em) => {
      const res = await em
        .createQueryBuilder()
        .update(CapacityPlanEntity)
        .set({ result, resultAt: () => 'now()' } as QueryDeepPartialEntity<CapacityPlanEntity>)
        .where('id = :id AND result IS NULL', { id })
        .execute();
      await this.jobs.markSucceeded(jobId, em);
      return (res.affected ?? 0) > 0;
    });
  }
}
