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

const iso = (col: string): string => `to_char(${col} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')`;

/** Static SQL (no input in the text: both values are bound parameters). */
const READ_JSON_SQL = `SELECT json_build_object(
  'id', p.id,
  'workloadProfileId', p.workload_profile_id,
  'deploymentId', p.deployment_id,
  'fusionConfigId', p.fusion_config_id,
  'status', j.status,
  'job', CASE WHEN j.id IS NULL THEN NULL ELSE json_build_object(
    'id', j.id, 'kind', j.kind, 'status', j.status, 'progress', j.progress, 'attempts', j.attempts,
    'error', j.error, 'createdAt', ${iso('j.created_at')}, 'startedAt', ${iso('j.started_at')},
    'finishedAt', ${iso('j.finished_at')}) END,
  'spec', p.spec,
  'result', p.result,
  'createdAt', ${iso('p.created_at')},
  'resultAt', ${iso('p.result_at')}
)::text AS body,
  COALESCE(j.status IN ('succeeded', 'failed'), false) AS final
FROM projections p LEFT JOIN jobs j ON j.id = p.job_id
WHERE p.id = $1 AND p.workspace_id = $2`;

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

  /**
   * The api's read of one projection (GET /projections/:id) as JSON text built by PostgreSQL in
   * one query: no entity hydration, no JSON parse of the stored spec and result and no
   * re-serialisation of them in Node (the result with its chart data is the bulk of the answer).
   * The document has the keys, order and ISO-8601 UTC millisecond timestamps of the api's
   * `projectionBody` (apps/api/src/modules/projections/projections.dto.ts; a test keeps the two
   * equal). `final`: its job succeeded or failed, so the document no longer changes. Null when
   * the projection is not in this workspace.
   */
  async readJson(workspaceId: string, id: string): Promise<{ body: string; final: boolean } | null> {
    const rows = await this.dataSource.query<Array<{ body: string; final: boolean }>>(READ_JSON_SQL, [
      id,
      workspaceId,
    ]);
    return rows[0] ?? null;
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
