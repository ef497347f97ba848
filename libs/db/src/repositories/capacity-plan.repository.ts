import type { DataSource, QueryDeepPartialEntity, Repository } from 'typeorm';
import type { CapacityMode } from '@kvplan/contracts';
import { CapacityPlanEntity, CapacityPointEntity } from '../entities/capacity-plan.entity';
import type { JobEntity } from '../entities/job.entity';
import { JobSubjectRepository } from './job-subject.repository';
import type { Page, PageQuery } from './paging';

export interface NewCapacityPlan {
  mode: CapacityMode;
  spec: Record<string, unknown>;
  points: Array<Record<string, unknown>>;
  slo: Record<string, unknown> | null;
  fusionProfileId: string | null;
}

/** Capacity plans, their sweep points' results and their job rows. */
export class CapacityPlanRepository extends JobSubjectRepository<CapacityPlanEntity> {
  private readonly pointRepo: Repository<CapacityPointEntity>;

  constructor(dataSource: DataSource) {
    super(dataSource, CapacityPlanEntity, 'capacity');
    this.pointRepo = dataSource.getRepository(CapacityPointEntity);
  }

  async createWithJob(
    workspaceId: string,
    input: NewCapacityPlan,
  ): Promise<{ plan: CapacityPlanEntity; job: JobEntity }> {
    const { row, job } = await this.insertWithJob(workspaceId, input);
    return { plan: row, job };
  }

  list(workspaceId: string, q: PageQuery): Promise<Page<CapacityPlanEntity>> {
    return this.page(workspaceId, q);
  }

  /**
   * Stores one point's result while the plan's job is queued or running (a cancelled plan stores
   * no more points; the row is locked until the insert commits, so a cancel waits for it); a
   * second write of the same point is ignored. Returns whether it wrote.
   */
  async savePoint(capacityPlanId: string, pointIndex: number, result: object): Promise<boolean> {
    return this.dataSource.transaction(async (em) => {
      const plan = await em.findOne(CapacityPlanEntity, {
        select: { id: true, jobId: true },
        where: { id: capacityPlanId },
      });
      if (!plan || !(await this.jobs.isOpen(plan.jobId, em))) return false;
      const res = await em
        .createQueryBuilder()
        .insert()
        .into(CapacityPointEntity)
        .values({ capacityPlanId, pointIndex, result } as QueryDeepPartialEntity<CapacityPointEntity>)
        .orIgnore()
        .returning(['pointIndex'])
        .execute();
      return (res.raw as unknown[]).length > 0;
    });
  }

  listPoints(capacityPlanId: string): Promise<CapacityPointEntity[]> {
    return this.pointRepo.find({ where: { capacityPlanId }, order: { pointIndex: 'ASC' } });
  }

  /** Indexes of the plan's points whose results are stored, ascending. */
  async storedPointIndexes(capacityPlanId: string): Promise<number[]> {
    const rows = await this.pointRepo.find({
      select: { pointIndex: true },
      where: { capacityPlanId },
      order: { pointIndex: 'ASC' },
    });
    return rows.map((r) => r.pointIndex);
  }

  /** Whether one point's result is stored. */
  hasPoint(capacityPlanId: string, pointIndex: number): Promise<boolean> {
    return this.pointRepo.exists({ where: { capacityPlanId, pointIndex } });
  }
}
