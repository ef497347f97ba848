import type { DataSource } from 'typeorm';
import type { JobEntity } from '../entities/job.entity';
import { ProjectionEntity } from '../entities/projection.entity';
import { JobSubjectRepository } from './job-subject.repository';
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
export class ProjectionRepository extends JobSubjectRepository<ProjectionEntity> {
  constructor(dataSource: DataSource) {
    super(dataSource, ProjectionEntity, 'simulate');
  }

  /** Inserts the projection and its queued job in one transaction; the job id is the run id. */
  async createWithJob(
    workspaceId: string,
    input: NewProjection,
  ): Promise<{ projection: ProjectionEntity; job: JobEntity }> {
    const { row, job } = await this.insertWithJob(workspaceId, input);
    return { projection: row, job };
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

  list(workspaceId: string, q: PageQuery & { workloadProfileId?: string }): Promise<Page<ProjectionEntity>> {
    return this.page(workspaceId, q, (qb) => {
      if (q.workloadProfileId) qb.andWhere('r.workload_profile_id = :wp', { wp: q.workloadProfileId });
    });
  }
}
