// POST /jobs/:id/retry against the real PostgreSQL and Redis: a failed or cancelled run is queued
// again under its id (BullMQ keeps failed entries, so the old one must go first), anything else
// is refused with 409, an unknown job is 404, and only a planner may retry (as for cancel).
import { Redis } from 'ioredis';
import { UnrecoverableError, Worker } from 'bullmq';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { QUEUES, capacityPointJobId } from '@kvplan/contracts';
import { CapacityPlanRepository, JobRepository, ProjectionRepository } from '@kvplan/db';
import { JobQueues } from '../src/infra/job-queues';
import { inProcessApi, type InProcessApi } from './support/in-process';

let api: InProcessApi;
let viewer = '';
let otherWorkspace = '';
let queues: JobQueues;
const ids = { profile: '', deployment: '' };

const call = (method: 'GET' | 'POST' | 'DELETE', url: string, body?: unknown, key = api.key) =>
  api.app.inject({
    method,
    url: `/api/v1${url}`,
    headers: { authorization: `Bearer ${key}`, ...(body ? { 'content-type': 'application/json' } : {}) },
    payload: body === undefined ? undefined : JSON.stringify(body),
  });

async function created(
  url: string,
  body: unknown,
): Promise<{ id: string; jobId?: string; job?: { id: string } }> {
  const res = await call('POST', url, body);
  expect([201, 202], res.body).toContain(res.statusCode);
  return res.json();
}

const retry = (jobId: string, key = api.key) => call('POST', `/jobs/${jobId}/retry`, undefined, key);

beforeAll(async () => {
  api = await inProcessApi('retry', { RATE_LIMIT_MAX: '0', RECONCILE_INTERVAL_MS: '0' });
  viewer = (await api.workspaces.createKey(api.workspaceId, 'v', 'viewer')).secret;
  otherWorkspace = (await api.workspaces.createWorkspaceWithAdminKey('B')).secret;
  queues = api.app.get(JobQueues);
  ids.deployment = (
    await created('/deployments', {
      name: 'd',
      model: 'meta-llama/Llama-3.1-8B',
      gpu: 'l4',
      engine: { maxModelLen: 4096 },
    })
  ).id;
  ids.profile = (
    await created('/workload-profiles', {
      name: 'w',
      workload: {
        arrival: { process: 'poisson', rate: 1 },
        numRequests: 20,
        inputTokens: { uniform: [100, 200] },
        outputTokens: { uniform: [10, 20] },
      },
    })
  ).id;
}, 90_000);

afterAll(async () => {
  await api?.close();
});

const jobOf = (p: { jobId?: string; job?: { id: string } }) => p.job?.id ?? p.jobId!;

describe('job retry', () => {
  it('queues a job that failed in its queue again, under the same id, and refuses one that did not fail', async () => {
    const projection = await created('/projections', {
      workloadProfileId: ids.profile,
      deploymentId: ids.deployment,
    });
    const jobId = jobOf(projection);
    const jobs = new JobRepository(api.ds);
    // Not failed: queued, running and succeeded are each refused, the row left as it is.
    const queued = await retry(jobId);
    expect(queued.statusCode).toBe(409);
    expect(queued.json().message).toBe(
      `job ${jobId} is queued: only a failed or cancelled job can be retried`,
    );
    // A real failure in BullMQ (a worker that gives up at once) and in the row.
    const connection = new Redis(process.env.KVPLAN_TEST_REDIS ?? 'redis://127.0.0.1:6379', {
      maxRetriesPerRequest: null,
    });
    const prefix = queues.queues.simulate.opts.prefix;
    let whileRunning = '';
    const worker = new Worker(
      QUEUES.simulate,
      async () => {
        await jobs.markRunning(jobId);
        whileRunning = (await retry(jobId)).json().message;
        throw new UnrecoverableError('simulation failed: out of memory');
      },
      { connection, prefix },
    );
    await new Promise<void>((resolve) => worker.on('failed', () => resolve()));
    await worker.close();
    await connection.quit();
    expect(whileRunning).toBe(`job ${jobId} is running: only a failed or cancelled job can be retried`);
    await jobs.markFailed(jobId, 'simulation failed: out of memory');
    expect(await queues.queues.simulate.getJobState(jobId)).toBe('failed');

    // Only a planner may retry; another workspace does not see the job; an unknown one is 404.
    expect((await retry(jobId, viewer)).statusCode).toBe(403);
    expect((await retry(jobId, otherWorkspace)).statusCode).toBe(404);
    const unknown = await retry('00000000-0000-4000-8000-000000000000');
    expect(unknown.statusCode).toBe(404);
    expect(unknown.json().message).toBe('no job with this id in your workspace');
    expect((await call('POST', '/jobs/nope/retry')).statusCode).toBe(400);
    expect((await call('GET', `/jobs/${jobId}`)).json()).toMatchObject({ status: 'failed' });

    const res = await retry(jobId);
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({ id: jobId, status: 'queued', progress: 0, error: null, attempts: 1 });
    expect(await queues.queues.simulate.getJobState(jobId)).toBe('waiting');
    const read = (await call('GET', `/projections/${projection.id}`)).json();
    expect(read.job).toMatchObject({ status: 'queued', error: null });
    // Queued again: a second retry is refused until it fails again.
    expect((await retry(jobId)).statusCode).toBe(409);
    await call('POST', `/jobs/${jobId}/cancel`);
  });

  it('queues a cancelled capacity plan again, its flow with every point', async () => {
    const plan = await created('/capacity-plans', {
      workloadProfileId: ids.profile,
      deploymentId: ids.deployment,
      mode: 'max-rate',
      rateScales: [1, 2],
      slo: { ttftMs: { p99: 1000 } },
    });
    const jobId = jobOf(plan);
    const cancelled = await call('POST', `/jobs/${jobId}/cancel`);
    expect(cancelled.json()).toMatchObject({ status: 'failed', error: 'cancelled' });
    expect(await queues.queues.capacity.getJobState(jobId)).toBe('unknown');
    const res = await retry(jobId);
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({ status: 'queued', error: null });
    expect(await queues.queues.capacity.getJobState(jobId)).toBe('waiting-children');
    for (const i of [0, 1])
      expect(await queues.queues.simulate.getJobState(capacityPointJobId(jobId, i))).toBe('waiting');
  });

  it('queues a failed plan again with only the points not stored: those stored are kept', async () => {
    const plan = await created('/capacity-plans', {
      workloadProfileId: ids.profile,
      deploymentId: ids.deployment,
      mode: 'max-rate',
      rateScales: [1, 2, 3],
      slo: { ttftMs: { p99: 1000 } },
    });
    const jobId = jobOf(plan);
    const plans = new CapacityPlanRepository(api.ds);
    // Points 0 and 2 done by workers, then the plan failed (here: cancelled) before point 1.
    expect(await plans.savePoint(plan.id, 0, { point: 0 })).toBe(true);
    expect(await plans.savePoint(plan.id, 2, { point: 2 })).toBe(true);
    expect((await call('POST', `/jobs/${jobId}/cancel`)).json()).toMatchObject({ status: 'failed' });
    expect((await retry(jobId)).json()).toMatchObject({ status: 'queued', error: null });
    expect(await queues.queues.capacity.getJobState(jobId)).toBe('waiting-children');
    const state = (i: number) => queues.queues.simulate.getJobState(capacityPointJobId(jobId, i));
    expect([await state(0), await state(1), await state(2)]).toEqual(['unknown', 'waiting', 'unknown']);
    expect((await plans.listPoints(plan.id)).map((p) => p.result)).toEqual([{ point: 0 }, { point: 2 }]);

    // Every point stored (point 1 by a worker of the retried run, which then failed): the plan
    // retried again only aggregates.
    expect(await plans.savePoint(plan.id, 1, { point: 1 })).toBe(true);
    expect((await call('POST', `/jobs/${jobId}/cancel`)).statusCode).toBe(200);
    expect((await retry(jobId)).statusCode).toBe(200);
    expect(await queues.queues.capacity.getJobState(jobId)).toBe('waiting');
    expect([await state(0), await state(1), await state(2)]).toEqual(['unknown', 'unknown', 'unknown']);
    await call('POST', `/jobs/${jobId}/cancel`);
  });
});

describe('reads right after a write', () => {
  const projectionNow = async (id: string) => (await call('GET', `/projections/${id}`)).json();

  it('show the retried job, even when a read of the failed one raced the retry', async () => {
    const projection = await created('/projections', {
      workloadProfileId: ids.profile,
      deploymentId: ids.deployment,
    });
    const jobId = jobOf(projection);
    await call('POST', `/jobs/${jobId}/cancel`);
    // Read twice: the second answer comes from the read cache.
    expect((await projectionNow(projection.id)).job).toMatchObject({ status: 'failed', error: 'cancelled' });
    expect((await projectionNow(projection.id)).job).toMatchObject({ status: 'failed', error: 'cancelled' });
    expect((await retry(jobId)).json()).toMatchObject({ status: 'queued' });
    expect((await projectionNow(projection.id)).job).toMatchObject({ status: 'queued', error: null });
    expect((await projectionNow(projection.id)).job).toMatchObject({ status: 'queued', error: null });

    // The same with a read that fetched the failed document from PostgreSQL before the retry and
    // answers after it: the real repository, held between its query and its answer.
    await call('POST', `/jobs/${jobId}/cancel`);
    const repo = api.app.get(ProjectionRepository);
    const readJson = repo.readJson.bind(repo);
    let release!: () => void;
    const held = new Promise<void>((r) => (release = r));
    let fetched!: () => void;
    const wasFetched = new Promise<void>((r) => (fetched = r));
    repo.readJson = async (ws: string, id: string) => {
      const row = await readJson(ws, id);
      fetched();
      await held;
      return row;
    };
    try {
      const racing = projectionNow(projection.id);
      await wasFetched;
      repo.readJson = readJson;
      expect((await retry(jobId)).json()).toMatchObject({ status: 'queued' });
      release();
      expect((await racing).job).toMatchObject({ status: 'failed', error: 'cancelled' });
    } finally {
      repo.readJson = readJson;
      release();
    }
    expect((await projectionNow(projection.id)).job).toMatchObject({ status: 'queued', error: null });
    await call('POST', `/jobs/${jobId}/cancel`);
  });

  it('show a projection whose workload profile was deleted without it', async () => {
    const profile = await created('/workload-profiles', {
      name: 'short-lived',
      workload: {
        arrival: { process: 'poisson', rate: 1 },
        numRequests: 5,
        inputTokens: { fixed: 100 },
        outputTokens: { fixed: 10 },
      },
    });
    const projection = await created('/projections', {
      workloadProfileId: profile.id,
      deploymentId: ids.deployment,
    });
    await call('POST', `/jobs/${jobOf(projection)}/cancel`);
    expect(await projectionNow(projection.id)).toMatchObject({ workloadProfileId: profile.id });
    expect(await projectionNow(projection.id)).toMatchObject({ workloadProfileId: profile.id });
    expect((await call('DELETE', `/workload-profiles/${profile.id}`)).statusCode).toBe(204);
    expect(await projectionNow(projection.id)).toMatchObject({ workloadProfileId: null });
  });
});
