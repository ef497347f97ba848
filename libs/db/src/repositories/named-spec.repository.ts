import { randomUUID } from 'node:crypto';
import type { DataSource, EntityTarget, Repository } from 'typeorm';
import { CalibrationEntity } from '../entities/calibration.entity';
import { DeploymentEntity } from '../entities/deployment.entity';
import { FusionConfigEntity } from '../entities/fusion-config.entity';
import { ModelConfigEntity } from '../entities/model-config.entity';
import type { NamedSpecRow } from '../entities/scoped';
import { WorkloadProfileEntity } from '../entities/workload-profile.entity';
import { likePattern, newestFirstPage, type Page, type PageQuery } from './paging';

type SpecRow = NamedSpecRow & { spec: Record<string, unknown> };

export type NamedSpecInput<E extends SpecRow> = Pick<E, 'name' | 'spec'> &
  Partial<Pick<E, 'description'>> &
  Partial<Omit<E, keyof NamedSpecRow | 'spec'>>;

/**
 * Create/read/update/delete/list of a workspace's named spec documents. Every method takes the
 * workspace id and filters on it, so one workspace never reads or changes another's rows.
 */
export class NamedSpecRepository<E extends SpecRow> {
  protected readonly repo: Repository<E>;

  constructor(
    dataSource: DataSource,
    private readonly entity: EntityTarget<E>,
  ) {
    this.repo = dataSource.getRepository(entity);
  }

  async create(workspaceId: string, input: NamedSpecInput<E>): Promise<E> {
    const row = this.repo.create({
      description: null,
      ...input,
      id: randomUUID(),
      workspaceId,
    } as unknown as E);
    return this.repo.save(row);
  }

  get(workspaceId: string, id: string): Promise<E | null> {
    return this.repo
      .createQueryBuilder('r')
      .where('r.id = :id AND r.workspace_id = :ws', { id, ws: workspaceId })
      .getOne();
  }

  /** Applies the given fields; returns the updated row, or null when there is none in this workspace. */
  async update(workspaceId: string, id: string, patch: Partial<NamedSpecInput<E>>): Promise<E | null> {
    const row = await this.get(workspaceId, id);
    if (!row) return null;
    Object.assign(row, patch, { id, workspaceId });
    return this.repo.save(row);
  }

  async delete(workspaceId: string, id: string): Promise<boolean> {
    const res = await this.repo
      .createQueryBuilder()
      .delete()
      .where('id = :id AND workspace_id = :ws', { id, ws: workspaceId })
      .execute();
    return (res.affected ?? 0) > 0;
  }

  list(workspaceId: string, q: PageQuery): Promise<Page<E>> {
    const qb = this.repo.createQueryBuilder('r').where('r.workspace_id = :ws', { ws: workspaceId });
    if (q.nameContains) qb.andWhere("r.name ILIKE :name ESCAPE '\\'", { name: likePattern(q.nameContains) });
    return newestFirstPage(qb, 'r', q);
  }
}

export class WorkloadProfileRepository extends NamedSpecRepository<WorkloadProfileEntity> {
  constructor(dataSource: DataSource) {
    super(dataSource, WorkloadProfileEntity);
  }
}

export class DeploymentRepository extends NamedSpecRepository<DeploymentEntity> {
  constructor(dataSource: DataSource) {
    super(dataSource, DeploymentEntity);
  }
}

export class FusionConfigRepository extends NamedSpecRepository<FusionConfigEntity> {
  constructor(dataSource: DataSource) {
    super(dataSource, FusionConfigEntity);
  }
}

export class ModelConfigRepository extends NamedSpecRepository<ModelConfigEntity> {
  constructor(dataSource: DataSource) {
    super(dataSource, ModelConfigEntity);
  }
}

export class CalibrationRepository extends NamedSpecRepository<CalibrationEntity> {
  constructor(dataSource: DataSource) {
    super(dataSource, CalibrationEntity);
  }
}
