// An answer plan's flow in the worker against the real PostgreSQL, with the real simulation
// threads: each configuration's capacity search, an unfit configuration's row without one, the
// aggregation into the cheapest configurations and the sentence, and the flow's job row timed
// from its first point (the aggregation keeps that start).
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Job } from 'bullmq';
import { DataSource } from 'typeorm';
import { JOB_NAMES, PAYLOAD_VERSION, type CapacityPoint, type PlanAnswer } from '@kvplan/contracts';
import {
  CapacityPlanRepository,
  FusionProfileRepository,
  JobRepository,
  WorkspaceRepository,
  dataSourceOptions,
} from '@kvplan/db';
import { migrate, recreateDatabase, testDatabaseUrl } from '@kvplan/migrations';
import { CapacityPlanHandler, CapacityPointHandler } from '../src/handlers/capacity.handlers';
import { ThreadSimRunner } from '../src/sim/sim-runner';

const url = testDatabaseUrl('kvplan_test_worker_answer');
const storage = fs.mkdtempSync(path.join(os.tmpdir(), 'kvplan-answer-'));
let ds: DataSource;
let workspaceId = '';

beforeAll(async () => {
  await recreateDatabase(url);
  await migrate(url);
  ds = await new DataSource(dataSourceOptions({ url, poolSize: 4 })).initialize();
  workspaceId = (await new WorkspaceRepository(ds).createWorkspaceWithAdminKey('answer')).workspace.id;
}, 60_000);
afterAll(async () => {
  await ds?.destroy();
  fs.rmSync(storage, { recursive: true, force: true });
});

/** What BullMQ hands a handler, as far as the handlers read it. */
const bullJob = (name: string, data: Record<string, unknown>) =>
  ({
    name,
    data: { v: PAYLOAD_VERSION, workspaceId, ...data },
    attemptsMade: 0,
    opts: { attempts: 1 },
    updateProgress: async () => undefined,
  }) as unknown as Job;

const deployment = (gpu: string, price: number) => ({
  model: 'meta-llama/Llama-3.1-8B',
  gpu,
  engine: { maxModelLen: 4096 },
  cost: { gpuHourUsd: price },
});
const slo = { ttftMs: { p99: 1500 } };
const workload = {
  arrival: { process: 'poisson', rate: 8 },
  numRequests: 200,
  inputTokens: { uniform: [200, 800] },
  outputTokens: { uniform: [20, 80] },
};

describe('an answer plan in the worker', () => {
  it('searches each configuration, rows an unfit one with its reason, and answers with the cheapest', async () => {
    const jobs = new JobRepository(ds);
    const plans = new CapacityPlanRepository(ds);
    const runner = new ThreadSimRunner(storage, { maxEvents: 5_000_000, maxWallMs: 60_000 });
    const pointHandler = new CapacityPointHandler(jobs, plans, runner, new FusionProfileRepository(ds));
    const planHandler = new CapacityPlanHandler(jobs, plans);
    const l4 = deployment('l4', 0.8);
    const h100 = deployment('h100-sxm', 3.2);
    const points: CapacityPoint[] = [
      {
        deploymentId: 'd-l4',
        deploymentName: 'on L4',
        gpu: 'l4',
        tensorParallel: 1,
        threshold: null,
        deployment: l4,
      },
      {
        deploymentId: 'd-h100',
        deploymentName: 'on H100',
        gpu: 'h100-sxm',
        tensorParallel: 1,
        threshold: null,
        deployment: h100,
      },
      {
        deploymentId: 'd-l4',
        deploymentName: 'on L4',
        gpu: 'l4',
        tensorParallel: 1,
        threshold: null,
        deployment: { ...l4, model: 'meta-llama/Llama-3.1-70B' },
        unfit: 'model: does not fit on l4 at TP1',
      },
    ];
    const { plan, job } = await plans.createWithJob(workspaceId, {
      mode: 'answer',
      spec: { ...l4, workload, slo },
      points: points as Array<Record<string, unknown>>,
      slo,
      fusionProfileId: null,
    });
    const started = Date.now();
    for (let i = 0; i < points.length; i++)
      expect(
        await pointHandler.handle(
          bullJob(JOB_NAMES.simulateCapacityPoint, { runId: job.id, capacityPlanId: plan.id, pointIndex: i }),
        ),
      ).toBe('stored');
    const aggregating = Date.now();
    expect(aggregating - started).toBeGreaterThan(100);
    expect(
      await planHandler.handle(bullJob(JOB_NAMES.capacityPlan, { runId: job.id, capacityPlanId: plan.id })),
    ).toBe('stored');

    // The job row: started with the first point, not when the aggregation ran.
    const row = (await jobs.getById(job.id))!;
    expect(row.status).toBe('succeeded');
    expect(row.startedAt!.getTime()).toBeLessThan(aggregating - 50);
    expect(row.startedAt!.getTime()).toBeGreaterThanOrEqual(started - 1000);
    expect(row.finishedAt!.getTime() - row.startedAt!.getTime()).toBeGreaterThanOrEqual(
      aggregating - started - 1000,
    );

    const answer = (await plans.getById(plan.id))!.result as unknown as PlanAnswer;
    expect(answer.mode).toBe('answer');
    expect(answer.targetRate).toBeGreaterThan(6);
    expect(answer.rows.map((r) => [r.gpu, r.feasible])).toEqual([
      ['l4', true],
      ['h100-sxm', true],
      ['l4', false],
    ]);
    const [onL4, onH100, unfit] = answer.rows;
    for (const r of [onL4, onH100]) {
      expect(r.maxRatePerReplica).toBeGreaterThan(0);
      expect(r.gpus! * r.maxRatePerReplica!).toBeGreaterThanOrEqual(answer.targetRate! * 0.8);
      expect(r.kvPeakUsedBlocks).toBeGreaterThan(0);
    }
    expect(onL4.usdPerHour).toBeCloseTo(onL4.gpus! * 0.8, 9);
    expect(onH100.usdPerHour).toBeCloseTo(onH100.gpus! * 3.2, 9);
    expect(unfit).toMatchObject({
      maxRatePerReplica: null,
      gpus: null,
      limitedBy: 'infeasible: model: does not fit on l4 at TP1',
    });
    // The cheapest per hour is the answer, and the sentence names its GPU, count and price.
    const best = [onL4, onH100].sort((a, b) => a.usdPerHour! - b.usdPerHour!)[0];
    expect(answer.best).toBe(best.index);
    expect(answer.sentence).toContain(`on ${best.gpus} x ${best.gpuName} (${best.gpu}, TP1,`);
    expect(answer.sentence).toContain(`for $${best.usdPerHour!.toFixed(2)}/h`);
  }, 120_000);
});
