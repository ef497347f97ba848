// Cancelled simulations and what a cancelled job computed, against the real PostgreSQL: a
// projection cancelled mid-run (its real simulation thread) stops within its next few thousand
// simulator events and stores no result; a cancelled capacity plan starts no more points, and a
// point already stored (a retried plan) is not simulated again; a result, fusion profile or point
// saved after the cancel is refused and the job is never flipped back to succeeded.
// (One job thread per test file: see cancel-fusion.int-spec.ts.)
import { describe, expect, it } from 'vitest';
import { JOB_CANCELLED, JOB_NAMES } from '@kvplan/contracts';
import type { ProjectionRun } from '@kvplan/core';
import {
  CapacityPlanRepository,
  FusionConfigRepository,
  FusionProfileRepository,
  JobRepository,
  ProjectionRepository,
  WorkloadProfileRepository,
} from '@kvplan/db';
import { CapacityPointHandler } from '../src/handlers/capacity.handlers';
import { SimulateProjectionHandler } from '../src/handlers/simulate-projection.handler';
import { CANCEL_POLL_MS } from '../src/handlers/tracking';
import { STOP_GRACE_MS } from '../src/run-in-thread';
import { ThreadSimRunner, type RunOptions } from '../src/sim/sim-runner';
import { bullJob, cancelMidRun, jobTestEnv, rejection } from './support/jobs';

const env = jobTestEnv('cancel_sim');

const spec = (numRequests: number) => ({
  model: 'meta-llama/Llama-3.1-8B',
  gpu: 'l4',
  engine: { maxModelLen: 4096 },
  workload: {
    arrival: { process: 'poisson', rate: 20 },
    numRequests,
    inputTokens: { uniform: [200, 1200] },
    outputTokens: { uniform: [50, 300] },
  },
  seed: 1,
});

/** The real thread runner, counting the simulations it starts. */
class CountingRunner extends ThreadSimRunner {
  runs = 0;
  override run(
    s: Record<string, unknown>,
    onProgress: (f: number) => void,
    opts?: RunOptions,
  ): Promise<ProjectionRun> {
    this.runs++;
    return super.run(s, onProgress, opts);
  }
}
const limits = { maxEvents: 300_000_000, maxWallMs: 120_000 };

describe('cancelled simulations', () => {
  it('a projection stops mid-run and stores no result', async () => {
    const { ds, ws } = env;
    const jobs = new JobRepository(ds);
    const projections = new ProjectionRepository(ds);
    const runner = new ThreadSimRunner(env.storage, limits);
    const handler = new SimulateProjectionHandler(jobs, projections, runner, new FusionProfileRepository(ds));
    const { projection, job } = await projections.createWithJob(ws, {
      workloadProfileId: null,
      deploymentId: null,
      fusionConfigId: null,
      spec: spec(200_000),
    });
    const progress: number[] = [];
    const { outcome, stopMs } = await cancelMidRun(
      env,
      job.id,
      () =>
        handler.handle(
          bullJob(ws, JOB_NAMES.simulateProjection, { runId: job.id, projectionId: projection.id }, progress),
        ),
      () => progress.some((p) => p > 0.05),
    );
    expect(rejection(outcome)).toContain('simulation stopped: the job was cancelled');
    expect(stopMs).toBeLessThan(STOP_GRACE_MS);
    console.log(
      `projection: stopped ${Math.round(stopMs)} ms after the cancel (row poll every ${CANCEL_POLL_MS} ms)`,
    );
    expect((await projections.getById(projection.id))!.result).toBeNull();
    expect(await jobs.getById(job.id)).toMatchObject({ status: 'failed', error: JOB_CANCELLED });
  }, 120_000);

  it('a cancelled plan starts no point; a point stored before is not simulated again', async () => {
    const { ds, ws } = env;
    const jobs = new JobRepository(ds);
    const plans = new CapacityPlanRepository(ds);
    const runner = new CountingRunner(env.storage, limits);
    const handler = new CapacityPointHandler(jobs, plans, runner, new FusionProfileRepository(ds));
    const newPlan = () =>
      plans.createWithJob(ws, {
        mode: 'max-rate',
        spec: spec(100),
        points: [{ rateScale: 1 }, { rateScale: 2 }],
        slo: { ttftMs: { p99: 1000 } },
        fusionProfileId: null,
      });
    const point = (planId: string, jobId: string, pointIndex: number) =>
      handler.handle(
        bullJob(ws, JOB_NAMES.simulateCapacityPoint, { runId: jobId, capacityPlanId: planId, pointIndex }),
      );

    const cancelled = await newPlan();
    await jobs.cancel(ws, cancelled.job.id);
    expect(await point(cancelled.plan.id, cancelled.job.id, 0)).toBe('plan finished: not run');
    expect(runner.runs).toBe(0);
    expect(await plans.listPoints(cancelled.plan.id)).toEqual([]);
    expect(await jobs.getById(cancelled.job.id)).toMatchObject({ status: 'failed', error: JOB_CANCELLED });

    // A retried plan whose point 0 a worker stored before it failed: point 0 is kept as it is.
    const retried = await newPlan();
    expect(await plans.savePoint(retried.plan.id, 0, { stored: 'before the retry' })).toBe(true);
    expect(await point(retried.plan.id, retried.job.id, 0)).toBe('already stored');
    expect(runner.runs).toBe(0);
    expect((await plans.listPoints(retried.plan.id))[0].result).toEqual({ stored: 'before the retry' });
  });
});

describe('what a cancelled job computed', () => {
  it('is never stored, and the job is never flipped back to succeeded', async () => {
    const { ds, ws } = env;
    const jobs = new JobRepository(ds);
    const projections = new ProjectionRepository(ds);
    const plans = new CapacityPlanRepository(ds);
    const profiles = new FusionProfileRepository(ds);
    const newProjection = () =>
      projections.createWithJob(ws, {
        workloadProfileId: null,
        deploymentId: null,
        fusionConfigId: null,
        spec: {},
      });

    const p = await newProjection();
    await jobs.markRunning(p.job.id);
    await jobs.cancel(ws, p.job.id);
    expect(await projections.saveResult(p.projection.id, p.job.id, { late: true })).toBe(false);
    expect((await projections.getById(p.projection.id))!.result).toBeNull();
    expect(await jobs.getById(p.job.id)).toMatchObject({ status: 'failed', error: JOB_CANCELLED });

    const wl = await new WorkloadProfileRepository(ds).create(ws, { name: 'w', spec: spec(10).workload });
    const fc = await new FusionConfigRepository(ds).create(ws, {
      name: 'f',
      spec: { mode: 'bff', thresholds: [0.8] },
    });
    const f = await profiles.createWithJob(ws, { workloadProfileId: wl.id, fusionConfigId: fc.id });
    await jobs.markRunning(f.job.id);
    await jobs.cancel(ws, f.job.id);
    expect(await profiles.saveProfile(f.fusionProfile.id, f.job.id, 'synthetic', { mode: 'bff' })).toBe(
      false,
    );
    expect((await profiles.getById(f.fusionProfile.id))!.profile).toBeNull();
    expect(await jobs.getById(f.job.id)).toMatchObject({ status: 'failed', error: JOB_CANCELLED });

    const c = await plans.createWithJob(ws, {
      mode: 'max-rate',
      spec: {},
      points: [{}],
      slo: null,
      fusionProfileId: null,
    });
    await jobs.cancel(ws, c.job.id);
    expect(await plans.savePoint(c.plan.id, 0, { late: true })).toBe(false);
    expect(await plans.listPoints(c.plan.id)).toEqual([]);

    // While the job is open the same calls store, and a second result is still ignored.
    const q = await newProjection();
    await jobs.markRunning(q.job.id);
    expect(await projections.saveResult(q.projection.id, q.job.id, { n: 1 })).toBe(true);
    expect(await projections.saveResult(q.projection.id, q.job.id, { n: 2 })).toBe(false);
    expect((await projections.getById(q.projection.id))!.result).toEqual({ n: 1 });
    expect(await jobs.getById(q.job.id)).toMatchObject({ status: 'succeeded' });
  });
});
