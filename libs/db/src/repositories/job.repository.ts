import type { DataSource, EntityManager, Repository } from 'typeorm';
import { JOB_CANCELLED, type JobKind, type JobStatus } from '@kvplan/contracts';
import { JobEntity } from '../entities/job.entity';

/** Job status rows: the source of truth for what the api reports about a run. */
export class JobRepository {
  private readonly repo: Repository<JobEntity>;

  constructor(dataSource: DataSource) {
    this.repo = dataSource.getRepository(JobEntity);
  }

  /** Inserts a queued job (inside the caller's transaction when `em` is given). */
  insertQueued(
    input: { id: string; workspaceId: string; kind: JobKind; subjectId: string },
    em?: EntityManager,
  ): Promise<JobEntity> {
    const manager = em ?? this.repo.manager;
    return manager.save(
      manager.create(JobEntity, {
        ...input,
        status: 'queued',
        progress: 0,
        attempts: 0,
        error: null,
        startedAt: null,
        finishedAt: null,
      }),
    );
  }

  get(workspaceId: string, id: string): Promise<JobEntity | null> {
    return this.repo.findOneBy({ id, workspaceId });
  }

  /** For the worker, which knows the run id from the queue and the workspace from the payload. */
  getById(id: string): Promise<JobEntity | null> {
    return this.repo.findOneBy({ id });
  }

  /**
   * A worker took the job: running, one more attempt. `started_at` keeps the first start: a
   * retried job, and a flow's parent whose children started it (markStartedIfQueued) before its
   * own aggregation runs, are timed from when their work began. A job already finished stays as
   * it is (returns false), so a duplicate delivery does not reopen it.
   */
  async markRunning(id: string): Promise<boolean> {
    const res = await this.repo
      .createQueryBuilder()
      .update()
      .set({
        status: 'running',
        attempts: () => 'attempts + 1',
        startedAt: () => 'COALESCE(started_at, now())',
        error: null,
      })
      .where("id = :id AND status IN ('queued', 'running')", { id })
      .execute();
    return (res.affected ?? 0) > 0;
  }

  /** A parent whose children started: running, without counting an attempt (no-op otherwise). */
  async markStartedIfQueued(id: string): Promise<void> {
    await this.repo
      .createQueryBuilder()
      .update()
      .set({ status: 'running', startedAt: () => 'COALESCE(started_at, now())' })
      .where("id = :id AND status = 'queued'", { id })
      .execute();
  }

  async setProgress(id: string, progress: number): Promise<void> {
    await this.repo
      .createQueryBuilder()
      .update()
      .set({ progress: Math.max(0, Math.min(1, progress)) })
      .where("id = :id AND status = 'running'", { id })
      .execute();
  }

  /**
   * Succeeded, unless it finished otherwise meanwhile (a cancelled job stays cancelled). Returns
   * whether this call finished it; inside a transaction the row stays locked until it commits, so
   * a concurrent cancel waits and then finds it succeeded.
   */
  async markSucceeded(id: string, em?: EntityManager): Promise<boolean> {
    const res = await (em ?? this.repo.manager)
      .createQueryBuilder()
      .update(JobEntity)
      .set({ status: 'succeeded', progress: 1, finishedAt: () => 'now()', error: null })
      .where("id = :id AND status IN ('queued', 'running')", { id })
      .execute();
    return (res.affected ?? 0) > 0;
  }

  /**
   * Whether the job may still store what it computes: queued or running. Inside a transaction
   * (`em`) the row is locked until it commits (FOR SHARE), so a cancel cannot slip in between
   * this check and the write it guards.
   */
  async isOpen(id: string, em?: EntityManager): Promise<boolean> {
    const rows = await (em ?? this.repo.manager).query<unknown[]>(
      "SELECT 1 FROM jobs WHERE id = $1 AND status IN ('queued', 'running') FOR SHARE",
      [id],
    );
    return rows.length > 0;
  }

  /**
   * Cancels a job of the workspace that has not finished: failed with JOB_CANCELLED as its
   * error. Idempotent: returns the row as it is after the call (null when there is none).
   */
  async cancel(workspaceId: string, id: string): Promise<JobEntity | null> {
    await this.repo
      .createQueryBuilder()
      .update()
      .set({ status: 'failed', finishedAt: () => 'now()', error: JOB_CANCELLED })
      .where("id = :id AND workspace_id = :ws AND status IN ('queued', 'running')", { id, ws: workspaceId })
      .execute();
    return this.get(workspaceId, id);
  }

  /**
   * Queues a failed (or cancelled) job of the workspace again: queued, no progress, no error, no
   * start or finish time; its attempts go on counting. Returns whether it was failed (a job in
   * any other state is left as it is).
   */
  async requeueFailed(workspaceId: string, id: string): Promise<boolean> {
    const res = await this.repo
      .createQueryBuilder()
      .update()
      .set({ status: 'queued', progress: 0, error: null, startedAt: null, finishedAt: null })
      .where("id = :id AND workspace_id = :ws AND status = 'failed'", { id, ws: workspaceId })
      .execute();
    return (res.affected ?? 0) > 0;
  }

  /** Unfinished jobs created before `olderThan` (oldest first), for the reconciler. */
  unfinished(olderThan: Date, limit: number): Promise<JobEntity[]> {
    return this.repo
      .createQueryBuilder('j')
      .where("j.status IN ('queued', 'running') AND j.created_at < :t", { t: olderThan })
      .orderBy('j.created_at', 'ASC')
      .limit(limit)
      .getMany();
  }

  /** Final failure (no more retries); a job already finished keeps its outcome. */
  async markFailed(id: string, error: string): Promise<void> {
    await this.repo
      .createQueryBuilder()
      .update()
      .set({ status: 'failed', finishedAt: () => 'now()', error: error.slice(0, 4000) })
      .where("id = :id AND status IN ('queued', 'running')", { id })
      .execute();
  }

  /** A failed attempt that will be retried: back to queued, with the error kept for display. */
  async markRetrying(id: string, error: string): Promise<void> {
    await this.repo
      .createQueryBuilder()
      .update()
      .set({ status: 'queued', error: error.slice(0, 4000) })
      .where("id = :id AND status = 'running'", { id })
      .execute();
  }

  /** Count of jobs per status (for /metrics). */
  async countByStatus(): Promise<Record<JobStatus, number>> {
    const rows = await this.repo
      .createQueryBuilder('j')
      .select('j.status', 'status')
      .addSelect('COUNT(*)::int', 'n')
      .groupBy('j.status')
      .getRawMany<{ status: JobStatus; n: number }>();
    const out: Record<JobStatus, number> = { queued: 0, running: 0, succeeded: 0, failed: 0 };
    for (const r of rows) out[r.status] = Number(r.n);
    return out;
  }
}
