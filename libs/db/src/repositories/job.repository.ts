import type { DataSource, EntityManager, Repository } from 'typeorm';
import type { JobKind, JobStatus } from '@kvplan/contracts';
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
   * A worker took the job: running, one more attempt. A job already finished stays as it is
   * (returns false), so a duplicate delivery does not reopen it.
   */
  async markRunning(id: string): Promise<boolean> {
    const res = await this.repo
      .createQueryBuilder()
      .update()
      .set({ status: 'running', attempts: () => 'attempts + 1', startedAt: () => 'now()', error: null })
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

  async markSucceeded(id: string, em?: EntityManager): Promise<void> {
    await (em ?? this.repo.manager)
      .createQueryBuilder()
      .update(JobEntity)
      .set({ status: 'succeeded', progress: 1, finishedAt: () => 'now()', error: null })
      .where("id = :id AND status <> 'succeeded'", { id })
      .execute();
  }

  /** Final failure (no more retries). */
  async markFailed(id: string, error: string): Promise<void> {
    await this.repo
      .createQueryBuilder()
      .update()
      .set({ status: 'failed', finishedAt: () => 'now()', error: error.slice(0, 4000) })
      .where("id = :id AND status <> 'succeeded'", { id })
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
