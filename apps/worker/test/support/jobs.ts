// What the worker's job tests share: a migrated database of their own with one workspace, what
// BullMQ hands a handler, and a cancel made the way POST /jobs/:id/cancel makes it.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, expect } from 'vitest';
import type { Job } from 'bullmq';
import { DataSource } from 'typeorm';
import { JOB_CANCELLED, PAYLOAD_VERSION } from '@kvplan/contracts';
import { JobRepository, WorkspaceRepository, dataSourceOptions } from '@kvplan/db';
import { migrate, recreateDatabase, testDatabaseUrl } from '@kvplan/migrations';

export interface JobTestEnv {
  ds: DataSource;
  /** The workspace's id. */
  ws: string;
  /** A storage root of the test's own. */
  storage: string;
}

/** Registers the hooks that create (and drop) the database `kvplan_test_worker_<name>`. */
export function jobTestEnv(name: string): JobTestEnv {
  const env = { storage: fs.mkdtempSync(path.join(os.tmpdir(), `kvplan-${name}-`)) } as JobTestEnv;
  const url = testDatabaseUrl(`kvplan_test_worker_${name}`);
  beforeAll(async () => {
    await recreateDatabase(url);
    await migrate(url);
    env.ds = await new DataSource(dataSourceOptions({ url, poolSize: 4 })).initialize();
    env.ws = (await new WorkspaceRepository(env.ds).createWorkspaceWithAdminKey(name)).workspace.id;
  }, 60_000);
  afterAll(async () => {
    await env.ds?.destroy();
    fs.rmSync(env.storage, { recursive: true, force: true });
  });
  return env;
}

/** What BullMQ hands a handler, as far as the handlers read it; progress reports go to `progress`. */
export const bullJob = (
  ws: string,
  name: string,
  data: Record<string, unknown>,
  progress: number[] = [],
): Job =>
  ({
    name,
    data: { v: PAYLOAD_VERSION, workspaceId: ws, ...data },
    attemptsMade: 0,
    opts: { attempts: 1 },
    updateProgress: async (p: number) => void progress.push(p),
  }) as unknown as Job;

export async function waitFor(what: string, ok: () => boolean, ms = 60_000): Promise<void> {
  const until = Date.now() + ms;
  while (!ok()) {
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/**
 * Runs a job's handler and cancels the job once `started` holds, as the api does (the row turns
 * failed with `cancelled`); how the handler ended and how long after the cancel.
 */
export async function cancelMidRun(
  env: JobTestEnv,
  jobId: string,
  run: () => Promise<string>,
  started: () => boolean,
): Promise<{ outcome: PromiseSettledResult<string>; stopMs: number }> {
  const settled = run().then(
    (value): PromiseSettledResult<string> => ({ status: 'fulfilled', value }),
    (reason: unknown): PromiseSettledResult<string> => ({ status: 'rejected', reason }),
  );
  await waitFor('the job to get going', started);
  const cancelled = await new JobRepository(env.ds).cancel(env.ws, jobId);
  expect(cancelled).toMatchObject({ status: 'failed', error: JOB_CANCELLED });
  const t0 = performance.now();
  const outcome = await settled;
  return { outcome, stopMs: performance.now() - t0 };
}

/** The error a settled handler rejected with, as text ('' when it did not reject). */
export const rejection = (o: PromiseSettledResult<string>): string =>
  o.status === 'rejected' ? String(o.reason) : '';
