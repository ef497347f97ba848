import { randomUUID } from 'node:crypto';
import type { DataSource, QueryDeepPartialEntity, Repository } from 'typeorm';
import { FusionProfileEntity } from '../entities/fusion-profile.entity';
import type { JobEntity } from '../entities/job.entity';
import { JobRepository } from './job.repository';

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
    input: { workloadProfileId: string; fusionConfigId: string },
  ): Promise<{ fusionProfile: FusionProfileEntity; job: JobEntity }> {
    return this.dataSource.transaction(async (em) => {
      const id = randomUUID();
      const job = await this.jobs.insertQueued(
        { id: randomUUID(), workspaceId, kind: 'fusion', subjectId: id },
        em,
      );
      const fusionProfile = await em.save(
        em.create(FusionProfileEntity, {
          ...input,
          id,
          workspaceId,
          jobId: job.id,
          source: null,
          profile: null,
        }),
      );
      return { fusionProfile, job };
    });
  }

  get(workspaceId: string, id: string): Promise<FusionProfileEntity | null> {
    return this.repo.findOneBy({ id, workspaceId });
  }

  getById(id: string): Promise<FusionProfileEntity | null> {
    return this.repo.findOneBy({ id });
  }

  /** The newest built profile for this workload and fusion config, if any. */
  latestBuilt(
    workspaceId: string,
    workloadProfileId: string,
    fusionConfigId: string,
  ): Promise<FusionProfileEntity | null> {
    return this.repo
      .createQueryBuilder('f')
      .where(
        'f.workspace_id = :ws AND f.workload_profile_id = :wp AND f.fusion_config_id = :fc AND f.profile IS NOT NULL',
        {
          ws: workspaceId,
          wp: workloadProfileId,
          fc: fusionConfigId,
        },
      )
      .orderBy('f.created_at', 'DESC')
      .getOne();
  }

  async saveProfile(
    id: string,
    jobId: string,
    source: string,
    profile: Record<string, unknown>,
  ): Promise<boolean> {
    return this.dataSource.transaction(async (em) => {
      const res = await em
        .createQueryBuilder()
        .update(FusionProfileEntity)
        .set({ source, profile } as QueryDeepPartialEntity<FusionProfileEntity>)
        .where('id = :id AND profile IS NULL', { id })
        .execute();
      await this.jobs.markSucceeded(jobId, em);
      return (res.affected ?? 0) > 0;
    });
  }
}
