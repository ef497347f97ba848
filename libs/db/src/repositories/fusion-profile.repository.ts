import { randomUUID } from 'node:crypto';
import type { DataSource, QueryDeepPartialEntity, Repository } from 'typeorm';
import { FusionProfileEntity } from '../entities/fusion-profile.entity';
import type { JobEntity } from '../entities/job.entity';
import { JobRepository } from './job.repository';
import { newestFirstPage, type Page, type PageQuery } from './paging';

/** Fusion profiles built by fusion jobs. */
export class FusionProfileRepository {
  private readonly repo: Repository<FusionProfileEntity>;
  private readonly jobs: JobRepository;

  constructor(private readonly dataSource: DataSource) {
    this.repo = dataSource.getRepository(FusionProfileEntity);
    this.jobs = new JobRepository(dataSource);
  }

  async createWithJob(
    workspaceId: string,
    input: {
      workloadProfileId: string;
      fusionConfigId: string;
      deploymentId?: string | null;
      options?: Record<string, unknown>;
    },
  ): Promise<{ fusionProfile: FusionProfileEntity; job: JobEntity }> {
    return this.dataSource.transaction(async (em) => {
      const id = randomUUID();
      const job = await this.jobs.insertQueued(
        { id: randomUUID(), workspaceId, kind: 'fusion', subjectId: id },
        em,
      );
      const fusionProfile = await em.save(
        em.create(FusionProfileEntity, {
          workloadProfileId: input.workloadProfileId,
          fusionConfigId: input.fusionConfigId,
          deploymentId: input.deploymentId ?? null,
          options: input.options ?? {},
          id,
          workspaceId,
          jobId: job.id,
          source: null,
          profile: null,
          details: null,
        }),
      );
      return { fusionProfile, job };
    });
  }

  get(workspaceId: string, id: string): Promise<FusionProfileEntity | null> {
    return this.repo
      .createQueryBuilder('f')
      .leftJoinAndSelect('f.job', 'job')
      .where('f.id = :id AND f.workspace_id = :ws', { id, ws: workspaceId })
      .getOne();
  }

  /** A workspace's fusion profiles, newest first (profile documents included), optionally of one workload. */
  list(
    workspaceId: string,
    q: PageQuery & { workloadProfileId?: string },
  ): Promise<Page<FusionProfileEntity>> {
    const qb = this.repo
      .createQueryBuilder('f')
      .leftJoinAndSelect('f.job', 'job')
      .where('f.workspace_id = :ws', { ws: workspaceId });
    if (q.workloadProfileId) qb.andWhere('f.workload_profile_id = :wp', { wp: q.workloadProfileId });
    return newestFirstPage(qb, 'f', q);
  }

  getById(id: string): Promise<FusionProfileEntity | null> {
    return this.repo.findOneBy({ id });
  }

  /**
   * The newest built profile for this workload and fusion config, if any; with `deploymentId`,
   * one built for that deployment is preferred, else the newest built without a deployment or for
   * one serving the same model (a profile measures a model's KV: another model's would be wrong
   * for this deployment, so none is better); with `mode`, null unless that profile's mode is `mode`.
   */
  async latestBuilt(
    workspaceId: string,
    workloadProfileId: string,
    fusionConfigId: string,
    deploymentId?: string | null,
    mode?: unknown,
  ): Promise<FusionProfileEntity | null> {
    const query = (dep: string | null, sameModelAs?: string) => {
      const qb = this.repo
        .createQueryBuilder('f')
        .where(
          'f.workspace_id = :ws AND f.workload_profile_id = :wp AND f.fusion_config_id = :fc AND f.profile IS NOT NULL',
          { ws: workspaceId, wp: workloadProfileId, fc: fusionConfigId },
        );
      if (dep) qb.andWhere('f.deployment_id = :dep', { dep });
      if (sameModelAs)
        qb.andWhere(
          `(f.deployment_id IS NULL OR (SELECT d.spec -> 'model' FROM deployments d WHERE d.id = f.deployment_id) =
            (SELECT t.spec -> 'model' FROM deployments t WHERE t.id = :target))`,
          { target: sameModelAs },
        );
      return qb.orderBy('f.created_at', 'DESC').addOrderBy('f.id', 'DESC').getOne();
    };
    const row = deploymentId
      ? ((await query(deploymentId)) ?? (await query(null, deploymentId)))
      : await query(null);
    if (mode === undefined) return row;
    return row?.profile && row.profile.mode === mode ? row : null;
  }

  /**
   * Stores the built profile (and what the job did) and marks the job succeeded, in one
   * transaction; a profile already stored is kept (a run delivered twice writes once).
   */
  async saveProfile(
    id: string,
    jobId: string,
    source: string,
    profile: object,
    details: object | null = null,
  ): Promise<boolean> {
    return this.dataSource.transaction(async (em) => {
      // Only while the job is queued or running: a cancelled job stores nothing and stays cancelled.
      if (!(await this.jobs.markSucceeded(jobId, em))) return false;
      const res = await em
        .createQueryBuilder()
        .update(FusionProfileEntity)
        .set({ source, profile, details } as QueryDeepPartialEntity<FusionProfileEntity>)
        .where('id = :id AND profile IS NULL', { id })
        .execute();
      return (res.affected ?? 0) > 0;
    });
  }
}
