import type { DataSource } from 'typeorm';
import type { JobKind, JobStatus } from '@kvplan/contracts';

/** A projection as the dashboard lists it: names and headline numbers, never the spec or the charts. */
export interface ProjectionSummaryRow {
  id: string;
  createdAt: Date;
  resultAt: Date | null;
  workloadProfileId: string | null;
  workloadProfileName: string | null;
  deploymentId: string | null;
  deploymentName: string | null;
  fusionConfigId: string | null;
  fusionConfigName: string | null;
  jobId: string;
  status: JobStatus;
  progress: number;
  error: string | null;
  outputThroughput: number | null;
  outputThroughputFused: number | null;
  throughputGain: number | null;
  p99TtftMs: number | null;
  p99TtftMsFused: number | null;
}

export interface JobRow {
  id: string;
  kind: JobKind;
  subjectId: string;
  status: JobStatus;
  progress: number;
  attempts: number;
  error: string | null;
  createdAt: Date;
  startedAt: Date | null;
  finishedAt: Date | null;
}

export interface FusionProfileRow {
  id: string;
  createdAt: Date;
  workloadProfileId: string;
  workloadProfileName: string | null;
  fusionConfigId: string;
  fusionConfigName: string | null;
  jobId: string;
  status: JobStatus;
  progress: number;
  error: string | null;
  source: string | null;
  profile: Record<string, unknown> | null;
}

const num = (v: unknown): number | null => (v === null || v === undefined ? null : Number(v));

/**
 * Read-only queries of the ops dashboard and /metrics: summaries joined with the names they
 * refer to, in one query each, so the dashboard's lists stay light. Parameters are always bound.
 */
export class DashboardRepository {
  constructor(private readonly ds: DataSource) {}

  async projectionSummaries(
    workspaceId: string,
    limit: number,
    offset: number,
  ): Promise<{ items: ProjectionSummaryRow[]; total: number }> {
    const rows: Array<Record<string, unknown>> = await this.ds.query(
      `SELECT p.id, p.created_at, p.result_at, p.workload_profile_id, wp.name AS wp_name,
              p.deployment_id, d.name AS d_name, p.fusion_config_id, fc.name AS fc_name,
              j.id AS job_id, j.status, j.progress, j.error,
              p.result #>> '{withoutFusion,output_throughput}' AS tput,
              p.result #>> '{withFusion,output_throughput}' AS tput_fused,
              p.result ->> 'throughputGain' AS gain,
              p.result #>> '{withoutFusion,p99_ttft_ms}' AS ttft,
              p.result #>> '{withFusion,p99_ttft_ms}' AS ttft_fused,
              count(*) OVER () AS total
         FROM projections p
         JOIN jobs j ON j.id = p.job_id
         LEFT JOIN workload_profiles wp ON wp.id = p.workload_profile_id
         LEFT JOIN deployments d ON d.id = p.deployment_id
         LEFT JOIN fusion_configs fc ON fc.id = p.fusion_config_id
        WHERE p.workspace_id = $1
        ORDER BY p.created_at DESC, p.id DESC
        LIMIT $2 OFFSET $3`,
      [workspaceId, limit, offset],
    );
    return {
      total: rows.length ? Number(rows[0].total) : await this.countProjections(workspaceId),
      items: rows.map((r) => ({
        id: String(r.id),
        createdAt: r.created_at as Date,
        resultAt: (r.result_at as Date | null) ?? null,
        workloadProfileId: (r.workload_profile_id as string | null) ?? null,
        workloadProfileName: (r.wp_name as string | null) ?? null,
        deploymentId: (r.deployment_id as string | null) ?? null,
        deploymentName: (r.d_name as string | null) ?? null,
        fusionConfigId: (r.fusion_config_id as string | null) ?? null,
        fusionConfigName: (r.fc_name as string | null) ?? null,
        jobId: String(r.job_id),
        status: r.status as JobStatus,
        progress: Number(r.progress),
        error: (r.error as string | null) ?? null,
        outputThroughput: num(r.tput),
        outputThroughputFused: num(r.tput_fused),
        throughputGain: num(r.gain),
        p99TtftMs: num(r.ttft),
        p99TtftMsFused: num(r.ttft_fused),
      })),
    };
  }

  /** The workspace's newest jobs, optionally of some statuses only. */
  async recentJobs(
    workspaceId: string,
    limit: number,
    statuses?: JobStatus[],
    kinds?: JobKind[],
  ): Promise<JobRow[]> {
    const rows: Array<Record<string, unknown>> = await this.ds.query(
      `SELECT id, kind, subject_id, status, progress, attempts, error, created_at, started_at, finished_at
         FROM jobs
        WHERE workspace_id = $1 AND ($2::text[] IS NULL OR status = ANY($2::text[]))
          AND ($4::text[] IS NULL OR kind = ANY($4::text[]))
        ORDER BY created_at DESC, id DESC
        LIMIT $3`,
      [workspaceId, statuses?.length ? statuses : null, limit, kinds?.length ? kinds : null],
    );
    return rows.map((r) => ({
      id: String(r.id),
      kind: r.kind as JobKind,
      subjectId: String(r.subject_id),
      status: r.status as JobStatus,
      progress: Number(r.progress),
      attempts: Number(r.attempts),
      error: (r.error as string | null) ?? null,
      createdAt: r.created_at as Date,
      startedAt: (r.started_at as Date | null) ?? null,
      finishedAt: (r.finished_at as Date | null) ?? null,
    }));
  }

  /** The workspace's jobs per status. */
  async jobCounts(workspaceId: string): Promise<Record<JobStatus, number>> {
    const rows: Array<{ status: JobStatus; n: string }> = await this.ds.query(
      'SELECT status, count(*) AS n FROM jobs WHERE workspace_id = $1 GROUP BY status',
      [workspaceId],
    );
    const out: Record<JobStatus, number> = { queued: 0, running: 0, succeeded: 0, failed: 0 };
    for (const r of rows) out[r.status] = Number(r.n);
    return out;
  }

  async fusionProfiles(
    workspaceId: string,
    limit: number,
    offset: number,
    id?: string,
  ): Promise<{ items: FusionProfileRow[]; total: number }> {
    const rows: Array<Record<string, unknown>> = await this.ds.query(
      `SELECT f.id, f.created_at, f.workload_profile_id, wp.name AS wp_name, f.fusion_config_id,
              fc.name AS fc_name, j.id AS job_id, j.status, j.progress, j.error, f.source,
              CASE WHEN $2::uuid IS NULL THEN NULL ELSE f.profile END AS profile,
              f.profile ->> 'numLayers' AS num_layers,
              count(*) OVER () AS total
         FROM fusion_profiles f
         JOIN jobs j ON j.id = f.job_id
         LEFT JOIN workload_profiles wp ON wp.id = f.workload_profile_id
         LEFT JOIN fusion_configs fc ON fc.id = f.fusion_config_id
        WHERE f.workspace_id = $1 AND ($2::uuid IS NULL OR f.id = $2::uuid)
        ORDER BY f.created_at DESC, f.id DESC
        LIMIT $3 OFFSET $4`,
      [workspaceId, id ?? null, limit, offset],
    );
    return {
      total: rows.length ? Number(rows[0].total) : 0,
      items: rows.map((r) => ({
        id: String(r.id),
        createdAt: r.created_at as Date,
        workloadProfileId: String(r.workload_profile_id),
        workloadProfileName: (r.wp_name as string | null) ?? null,
        fusionConfigId: String(r.fusion_config_id),
        fusionConfigName: (r.fc_name as string | null) ?? null,
        jobId: String(r.job_id),
        status: r.status as JobStatus,
        progress: Number(r.progress),
        error: (r.error as string | null) ?? null,
        source: (r.source as string | null) ?? null,
        profile: (r.profile as Record<string, unknown> | null) ?? null,
      })),
    };
  }

  /** Projections created and completed in the last hour, over every workspace (for /metrics). */
  async projectionsLastHour(): Promise<{ created: number; completed: number }> {
    const [r]: Array<{ created: string; completed: string }> = await this.ds.query(
      `SELECT count(*) FILTER (WHERE created_at > now() - interval '1 hour') AS created,
              count(*) FILTER (WHERE result_at > now() - interval '1 hour') AS completed
         FROM projections
        WHERE created_at > now() - interval '1 day' OR result_at > now() - interval '1 hour'`,
    );
    return { created: Number(r?.created ?? 0), completed: Number(r?.completed ?? 0) };
  }

  private async countProjections(workspaceId: string): Promise<number> {
    const [r]: Array<{ n: string }> = await this.ds.query(
      'SELECT count(*) AS n FROM projections WHERE workspace_id = $1',
      [workspaceId],
    );
    return Number(r?.n ?? 0);
  }
}
