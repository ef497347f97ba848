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

  /** Stores one point's result; a second write of the same point is ignored. Returns whether it wrote. */
  async savePoint(capacityPlanId: string, pointIndex: number, result: object): Promise<boolean> {
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
}
