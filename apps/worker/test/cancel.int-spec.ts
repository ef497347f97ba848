// Cancelling running jobs in the worker against the real PostgreSQL, with the real job threads:
// a fusion-profile job cancelled mid-run (as POST /jobs/:id/cancel does it: the row turns failed
// with `cancelled`) stops at its next checkpoint well before its grace period, stores no profile
// and leaves the job cancelled; a simulation (a projection, a capacity point) likewise; a result,
// profile or point saved after the cancel is refused; a point already stored is not simulated again.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Job } from 'bullmq';
import { DataSource } from 'typeorm';
import { JOB_CANCELLED, JOB_NAMES, PAYLOAD_VERSION } from '@kvplan/contracts';
import type { ProjectionRun } from '@kvplan/core';
import {
  CapacityPlanRepository,
  DeploymentDocsRepository,
  DeploymentRepository,
  FusionConfigRepository,
  FusionProfileRepository,
  JobRepository,
  KvSampleRepository,
  ProjectionRepository,
  TraceRepository,
  WorkloadProfileRepository,
  WorkspaceRepository,
  dataSourceOptions,
} from '@kvplan/db';
import { migrate, recreateDatabase, testDatabaseUrl } from '@kvplan/migrations';
import type { WorkerConfig } from '../src/config';
import { ThreadFusionRunner } from '../src/fusion/fusion-runner';
import { CapacityPointHandler } from '../src/handlers/capacity.handlers';
import { FusionProfileHandler } from '../src/handlers/fusion-profile.handler';
import { SimulateProjectionHandler } from '../src/handlers/simulate-projection.handler';
import { CANCEL_POLL_MS } from '../src/handlers/tracking';
import { STOP_GRACE_MS } from '../src/run-in-thread';
import { ThreadSimRunner, type RunOptions } from '../src/sim/sim-runner';

const url = testDatabaseUrl('kvplan_test_worker_cancel');
const storage = fs.mkdtempSync(path.join(os.tmpdir(), 'kvplan-cancel-'));
let ds: DataSource;
let ws = '';

beforeAll(async () => {
  await recreateDatabase(url);
  await migrate(url);
  ds = await new DataSource(dataSourceOptions({ url, poolSize: 4 })).initialize();
  ws = (await new WorkspaceRepository(ds).createWorkspaceWithAdminKey('cancel')).workspace.id;
}, 60_000);
afterAll(async () => {
  await ds?.destroy();
  fs.rmSync(storage, { recursive: true, force: true });
});

/** What BullMQ hands a handler, as far as the handlers read it; progress reports are kept. */
const bullJob = (name: string, data: Record<string, unknown>, progress: number[] = []) =>
  ({
    name,
    data: { v: PAYLOAD_VERSION, workspaceId: ws, ...data },
    attemptsMade: 0,
    opts: { attempts: 1 },
    updateProgress: async (p: number) => void progress.push(p),
  }) as unknown as Job;

const waitFor = async (what: string, ok: () => Promise<boolean> | boolean, ms = 60_000) => {
  const until = Date.now() + ms;
  while (!(await ok())) {
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
};

/** Runs `run` and cancels its job once `started` holds; how long the handler took to give up. */
async function cancelMidRun(
  jobId: string,
  run: () => Promise<string>,
  started: () => Promise<boolean> | boolean,
): Promise<{ outcome: PromiseSettledResult<string>; stopMs: number }> {
  const jobs = new JobRepository(ds);
  const settled = run().then(
    (value) => ({ status: 'fulfilled' as const, value }),
    (reason: unknown) => ({ status: 'rejected' as const, reason }),
  );
  await waitFor('the job to get going', started);
  const cancelled = await jobs.cancel(ws, jobId);
  expect(cancelled).toMatchObject({ status: 'failed', error: JOB_CANCELLED });
  const t0 = performance.now();
  const outcome = await settled;
  return { outcome, stopMs: performance.now() - t0 };
}

describe('a cancelled fusion-profile job', () => {
  it('stops at a checkpoint mid-fusion, stores no profile and stays cancelled', async () => {
    const jobs = new JobRepository(ds);
    const profiles = new FusionProfileRepository(ds);
    const deployment = await new DeploymentRepository(ds).create(ws, {
      name: '8b',
      spec: { model: 'meta-llama/Llama-3.1-8B', gpu: 'h100-sxm' },
    });
    const workload = await new WorkloadProfileRepository(ds).create(ws, {
      name: 'long prompts',
      spec: {
        arrival: { process: 'poisson', rate: 1 },
        numRequests: 64,
        inputTokens: { fixed: 128 },
        outputTokens: { fixed: 16 },
      },
    });
    const fusionConfig = await new FusionConfigRepository(ds).create(ws, {
      name: 'bff',
      spec: { mode: 'bff', thresholds: [0.8], batchSizes: [8] },
    });
    const config = {
      storageDir: storage,
      modelDir: null,
      tfBackend: null,
      similarityKernel: null,
      kernelThreads: 2,
    } as WorkerConfig;
    const handler = new FusionProfileHandler(
      jobs,
      profiles,
      new WorkloadProfileRepository(ds),
      new DeploymentRepository(ds),
      new DeploymentDocsRepository(ds),
      new FusionConfigRepository(ds),
      new TraceRepository(ds),
      new KvSampleRepository(ds),
      new ThreadFusionRunner(),
      config,
    );
    const build = async (progress: number[]) => {
      const { fusionProfile, job } = await profiles.createWithJob(ws, {
        workloadProfileId: workload.id,
        fusionConfigId: fusionConfig.id,
        deploymentId: deployment.id,
        options: { sampleSize: 8, maxPromptTokens: 128 },
      });
      const run = () =>
        handler.handle(
          bullJob(JOB_NAMES.fusionProfile, { runId: job.id, fusionProfileId: fusionProfile.id }, progress),
        );
      return { id: fusionProfile.id, jobId: job.id, run };
    };

    // Cancelled once a fifth of its layers are fused (the whole job fuses 28 layers for about
    // 20 s on two busy cores).
    const progress: number[] = [];
    const cut = await build(progress);
    const { outcome, stopMs } = await cancelMidRun(cut.jobId, cut.run, () =>
      progress.some((p) => p >= 0.2 && p < 0.5),
    );
    const lastBefore = Math.max(...progress);
    expect(outcome.status).toBe('rejected');
    expect(String((outcome as PromiseRejectedResult).reason)).toContain('fusion stopped: the job was cancelled');
    // Seen by the row poll, then at the next layer: inside the grace period after which the thread
    // would be terminated instead (a stop that took that long could not tell them apart).
    expect(stopMs).toBeLessThan(STOP_GRACE_MS);
    expect(lastBefore).toBeLessThan(0.8);
    console.log(
      `fusion job: cancelled at ${Math.round(lastBefore * 100)} %, stopped ${Math.round(stopMs)} ms ` +
        `after the cancel (row poll ${CANCEL_POLL_MS} ms)`,
    );

    // Nothing stored, the job still cancelled, no progress after the stop, even a while later.
    await new Promise((r) => setTimeout(r, 1500));
    const row = (await profiles.getById(cut.id))!;
    expect(row.profile).toBeNull();
    expect(row.source).toBeNull();
    expect(await jobs.getById(cut.jobId)).toMatchObject({ status: 'failed', error: JOB_CANCELLED });
    expect((await jobs.getById(cut.jobId))!.progress).toBeLessThan(1);
    expect(Math.max(...progress)).toBe(lastBefore);
  }, 240_000);
});

const simWorkload = (numRequests: number) => ({
  arrival: { process: 'poisson', rate: 20 },
  numRequests,
  inputTokens: { uniform: [200, 1200] },
  outputTokens: { uniform: [50, 300] },
});
const simDeployment = { model: 'meta-llama/Llama-3.1-8B', gpu: 'l4', engine: { maxModelLen: 4096 } };

describe('cancelled simulations', () => {
  it('a projection stops mid-run and stores no result', async () => {
    const jobs = new JobRepository(ds);
    const projections = new ProjectionRepository(ds);
    const runner = new ThreadSimRunner(storage, { maxEvents: 300_000_000, maxWallMs: 120_000 });
    const handler = new SimulateProjectionHandler(jobs, projections, runner, new FusionProfileRepository(ds));
    const { projection, job } = await projections.createWithJob(ws, {
      workloadProfileId: null,
      deploymentId: null,
      fusionConfigId: null,
      spec: { ...simDeployment, workload: simWorkload(200_000), seed: 1 },
    });
    const progress: number[] = [];
    const { outcome, stopMs } = await cancelMidRun(
      job.id,
      () => handler.handle(bullJob(JOB_NAMES.simulateProjection, { runId: job.id, projectionId: projection.id }, progress)),
      () => progress.some((p) => p > 0.05),
    );
    expect(outcome.status).toBe('rejected');
    expect(String((outcome as PromiseRejectedResult).reason)).toContain('simulation stopped: the job was cancelled');
    expect(stopMs).toBeLessThan(STOP_GRACE_MS);
    console.log(`projection: stopped ${Math.round(stopMs)} ms after the cancel`);
    expect((await projections.getById(projection.id))!.result).toBeNull();
    expect(await jobs.getById(job.id)).toMatchObject({ status: 'failed', error: JOB_CANCELLED });
  }, 120_000);

  it('a capacity point stops mid-run; a cancelled plan starts no point; a stored point is not run again', async () => {
    const jobs = new JobRepository(ds);
    const plans = new CapacityPlanRepository(ds);
    /** The real thread runner, counting the simulations it starts. */
    class CountingRunner extends ThreadSimRunner {
      runs = 0;
      override run(spec: Record<string, unknown>, onProgress: (f: number) => void, opts?: RunOptions): Promise<ProjectionRun> {
        this.runs++;
        return super.run(spec, onProgress, opts);
      }
    }
    const runner = new CountingRunner(storage, { maxEvents: 300_000_000, maxWallMs: 120_000 });
    const handler = new CapacityPointHandler(jobs, plans, runner, new FusionProfileRepository(ds));
    const newPlan = (numRequests: number) =>
      plans.createWithJob(ws, {
        mode: 'max-rate',
        spec: { ...simDeployment, workload: simWorkload(numRequests), seed: 1 },
        points: [{ rateScale: 1 }, { rateScale: 2 }],
        slo: { ttftMs: { p99: 1000 } },
        fusionProfileId: null,
      });
    const point = (planId: string, jobId: string, pointIndex: number, progress: number[] = []) => () =>
      handler.handle(
        bullJob(JOB_NAMES.simulateCapacityPoint, { runId: jobId, capacityPlanId: planId, pointIndex }, progress),
      );

    // Mid-run.
    const big = await newPlan(200_000);
    const progress: number[] = [];
    const { outcome, stopMs } = await cancelMidRun(big.job.id, point(big.plan.id, big.job.id, 0, progress), () =>
      progress.some((p) => p > 0.05),
    );
    expect(outcome.status).toBe('rejected');
    expect(stopMs).toBeLessThan(STOP_GRACE_MS);
    console.log(`capacity point: stopped ${Math.round(stopMs)} ms after the cancel`);
    expect(await plans.listPoints(big.plan.id)).toEqual([]);
    // Its other point, delivered after the cancel: not simulated at all.
    const before = runner.runs;
    expect(await point(big.plan.id, big.job.id, 1)()).toBe('plan finished: not run');
    expect(runner.runs).toBe(before);
    expect(await jobs.getById(big.job.id)).toMatchObject({ status: 'failed', error: JOB_CANCELLED });

    // A point stored before (a retried plan) is kept and not simulated again; the missing one runs.
    const small = await newPlan(100);
    expect(await point(small.plan.id, small.job.id, 0)()).toBe('stored');
    const stored = (await plans.listPoints(small.plan.id))[0].result;
    const runs = runner.runs;
    expect(await point(small.plan.id, small.job.id, 0)()).toBe('already stored');
    expect(runner.runs).toBe(runs);
    expect(await point(small.plan.id, small.job.id, 1)()).toBe('stored');
    expect(runner.runs).toBe(runs + 1);
    expect((await plans.listPoints(small.plan.id))[0].result).toEqual(stored);
  }, 120_000);
});

describe('what a cancelled job computed', () => {
  it('is never stored, and the job is never flipped back to succeeded', async () => {
    const jobs = new JobRepository(ds);
    const projections = new ProjectionRepository(ds);
    const plans = new CapacityPlanRepository(ds);
    const profiles = new FusionProfileRepository(ds);

    const p = await projections.createWithJob(ws, {
      workloadProfileId: null,
      deploymentId: null,
      fusionConfigId: null,
      spec: {},
    });
    await jobs.markRunning(p.job.id);
    await jobs.cancel(ws, p.job.id);
    expect(await projections.saveResult(p.projection.id, p.job.id, { late: true })).toBe(false);
    expect((await projections.getById(p.projection.id))!.result).toBeNull();
    expect(await jobs.getById(p.job.id)).toMatchObject({ status: 'failed', error: JOB_CANCELLED });

    const wl = await new WorkloadProfileRepository(ds).create(ws, { name: 'w', spec: simWorkload(10) });
    const fc = await new FusionConfigRepository(ds).create(ws, { name: 'f', spec: { mode: 'bff', thresholds: [0.8] } });
    const f = await profiles.createWithJob(ws, { workloadProfileId: wl.id, fusionConfigId: fc.id });
    await jobs.cancel(ws, f.job.id);
    expect(await profiles.saveProfile(f.fusionProfile.id, f.job.id, 'synthetic', { mode: 'bff' })).toBe(false);
    expect((await profiles.getById(f.fusionProfile.id))!.profile).toBeNull();
    expect(await jobs.getById(f.job.id)).toMatchObject({ status: 'failed', error: JOB_CANCELLED });

    const c = await plans.createWithJob(ws, { mode: 'max-rate', spec: {}, points: [{}], slo: null, fusionProfileId: null });
    await jobs.cancel(ws, c.job.id);
    expect(await plans.savePoint(c.plan.id, 0, { late: true })).toBe(false);
    expect(await plans.listPoints(c.plan.id)).toEqual([]);

    // While open, the same calls store (and a second result is still ignored).
    const q = await projections.createWithJob(ws, { workloadProfileId: null, deploymentId: null, fusionConfigId: null, spec: {} });
    await jobs.markRunning(q.job.id);
    expect(await projections.saveResult(q.projection.id, q.job.id, { n: 1 })).toBe(true);
    expect(await projections.saveResult(q.projection.id, q.job.id, { n: 2 })).toBe(false);
    expect((await projections.getById(q.projection.id))!.result).toEqual({ n: 1 });
    expect(await jobs.getById(q.job.id)).toMatchObject({ status: 'succeeded' });
  });
});
