import type { DataSource, EntityManager } from 'typeorm';

/** What one workspace's retention sweep removed (files are the caller's to delete). */
export interface RetentionOutcome {
  workspaceId: string;
  retentionDays: number;
  /** Storage paths (relative to the storage root) of the deleted traces and KV samples. */
  files: string[];
  traces: number;
  kvSamples: number;
  /** Finished jobs deleted, with the projections, capacity plans and fusion profiles they computed. */
  jobs: number;
  /** Expired traces kept because a workload profile still replays them. */
  tracesInUse: number;
}

/** Advisory-lock key of the sweep, so several workers do not sweep at once. */
const SWEEP_LOCK = 0x6b76706c; // 'kvpl'

/**
 * The retention sweep's queries: for each workspace with `retention_days`, uploads and finished
 * results older than that many days. Every statement is bound to one workspace id, so a sweep
 * never touches another workspace's rows.
 */
export class RetentionRepository {
  constructor(private readonly dataSource: DataSource) {}

  async workspacesWithRetention(): Promise<Array<{ id: string; retentionDays: number }>> {
    const rows = await this.dataSource.query<Array<{ id: string; retention_days: number }>>(
      'SELECT id, retention_days FROM workspaces WHERE retention_days IS NOT NULL ORDER BY id',
    );
    return rows.map((r) => ({ id: r.id, retentionDays: Number(r.retention_days) }));
  }

  /**
   * Deletes one workspace's expired rows in one transaction: traces no workload profile uses,
   * KV samples, finished jobs (cascading to their projections, capacity plans with their points,
   * and fusion profiles) and idempotency keys. Queued and running jobs are kept whatever their age.
   */
  async sweepWorkspace(workspaceId: string, retentionDays: number): Promise<RetentionOutcome> {
    return this.dataSource.transaction(async (em) => {
      const cutoff = 'now() - make_interval(days => $2)';
      const params = [workspaceId, retentionDays];
      const traces = await rows<{ storage_path: string }>(
        em,
        `DELETE FROM traces t WHERE t.workspace_id = $1 AND t.created_at < ${cutoff}
           AND NOT EXISTS (SELECT 1 FROM workload_profiles w WHERE w.trace_id = t.id)
         RETURNING t.storage_path`,
        params,
      );
      const inUse = await em.query<Array<{ n: number }>>(
        `SELECT COUNT(*)::int AS n FROM traces t WHERE t.workspace_id = $1 AND t.created_at < ${cutoff}`,
        params,
      );
      const kv = await rows<{ storage_path: string }>(
        em,
        `DELETE FROM kv_samples WHERE workspace_id = $1 AND created_at < ${cutoff} RETURNING storage_path`,
        params,
      );
      const jobs = await rows<{ id: string }>(
        em,
        `DELETE FROM jobs WHERE workspace_id = $1 AND created_at < ${cutoff}
           AND status IN ('succeeded', 'failed') RETURNING id`,
        params,
      );
      await em.query(
        `DELETE FROM idempotency_keys WHERE workspace_id = $1 AND created_at < ${cutoff}`,
        params,
      );
      return {
        workspaceId,
        retentionDays,
        files: [...traces, ...kv].map((r) => r.storage_path),
        traces: traces.length,
        kvSamples: kv.length,
        jobs: jobs.length,
        tracesInUse: Number(inUse[0]?.n ?? 0),
      };
    });
  }

  /**
   * Runs `fn` while holding the sweep's session advisory lock on one pooled connection; returns
   * null without running it when another process holds the lock.
   */
  async withSweepLock<T>(fn: () => Promise<T>): Promise<T | null> {
    const runner = this.dataSource.createQueryRunner();
    await runner.connect();
    try {
      const got = (await runner.query('SELECT pg_try_advisory_lock($1) AS ok', [SWEEP_LOCK])) as Array<{
        ok: boolean;
      }>;
      if (!got[0]?.ok) return null;
      try {
        return await fn();
      } finally {
        await runner.query('SELECT pg_advisory_unlock($1)', [SWEEP_LOCK]);
      }
    } finally {
      await runner.release();
    }
  }
}

/** The RETURNING rows of a statement run inside the transaction of `em`. */
async function rows<T>(em: EntityManager, sql: string, params: unknown[]): Promise<T[]> {
  const res = await em.queryRunner!.query(sql, params, true);
  return res.records as T[];
}
