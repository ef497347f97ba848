import { Injectable } from '@nestjs/common';
import type { Job } from 'bullmq';
import { JOB_NAMES, parsePayload } from '@kvplan/contracts';
import { CapacityPlanRepository, FusionProfileRepository, JobRepository } from '@kvplan/db';
import type { CapacityAnswer, CapacityPoint, RunMetrics, SloSpec } from '@kvplan/core';
import { applyPoint, capacityAnswer, gpusPerReplica } from '@kvplan/sim';
import { SimRunner } from '../sim/sim-runner';
import { PermanentJobError, tracked } from './tracking';

/** `simulate.capacity-point`: one point of a sweep (a child of the plan's flow). */
@Injectable()
export class CapacityPointHandler {
  constructor(
    private readonly jobs: JobRepository,
    private readonly plans: CapacityPlanRepository,
    private readonly runner: SimRunner,
    private readonly fusionProfiles: FusionProfileRepository,
  ) {}

  async handle(job: Job): Promise<string> {
    const p = parsePayload(JOB_NAMES.simulateCapacityPoint, job.data);
    // The child has no row of its own (p.runId is the plan's): its final failure fails the plan.
    return tracked(job, p.runId, this.jobs, async (signal) => {
      const plan = await this.plans.getById(p.capacityPlanId);
      if (!plan || plan.workspaceId !== p.workspaceId)
        throw new PermanentJobError(`capacity plan ${p.capacityPlanId} not found`);
      const point = plan.points[p.pointIndex];
      if (!point) throw new PermanentJobError(`capacity plan has no point ${p.pointIndex}`);
      await this.jobs.markStartedIfQueued(plan.jobId);
      const stored = plan.fusionProfileId ? await this.fusionProfiles.getById(plan.fusionProfileId) : null;
      const run = await this.runner.run(
        applyPoint(plan.spec, point as CapacityPoint),
        (f) => void job.updateProgress(f).catch(() => undefined),
        { fusionProfile: stored?.profile ?? null, signal },
      );
      const wrote = await this.plans.savePoint(plan.id, p.pointIndex, run.result);
      const done = (await this.plans.listPoints(plan.id)).length;
      await this.jobs.setProgress(plan.jobId, (0.95 * done) / plan.points.length);
      return wrote ? 'stored' : 'already stored';
    });
  }
}

/** `capacity.plan`: runs after every point finished; aggregates them into the plan's answer. */
@Injectable()
export class CapacityPlanHandler {
  constructor(
    private readonly jobs: JobRepository,
    private readonly plans: CapacityPlanRepository,
  ) {}

  async handle(job: Job): Promise<string> {
    const p = parsePayload(JOB_NAMES.capacityPlan, job.data);
    return tracked(job, p.runId, this.jobs, async () => {
      if (!(await this.jobs.markRunning(p.runId))) return 'already finished';
      const plan = await this.plans.getById(p.capacityPlanId);
      if (!plan || plan.workspaceId !== p.workspaceId)
        throw new PermanentJobError(`capacity plan ${p.capacityPlanId} not found`);
      if (plan.result) {
        await this.jobs.markSucceeded(p.runId);
        return 'already stored';
      }
      const stored = await this.plans.listPoints(plan.id);
      if (stored.length < plan.points.length)
        throw new Error(`only ${stored.length} of ${plan.points.length} points stored`);
      // Rows of this plan, written by the point handler above (jsonb columns, typed here).
      const outcomes = stored.map((s) => ({
        index: s.pointIndex,
        point: plan.points[s.pointIndex] as CapacityPoint,
        result: s.result as unknown as RunMetrics,
      }));
      // GPUs per replica: tensorParallel x pipelineParallel x dataParallel.
      const n = (v: unknown) => (typeof v === 'number' ? v : 1);
      const perReplica = gpusPerReplica({
        tensorParallel: n(plan.spec.tensorParallel),
        pipelineParallel: n(plan.spec.pipelineParallel),
        dataParallel: n(plan.spec.dataParallel),
      });
      const mode = plan.mode as CapacityAnswer['mode'];
      const answer = capacityAnswer(mode, outcomes, plan.slo as SloSpec | null, perReplica);
      return (await this.plans.saveResult(plan.id, p.runId, answer)) ? 'stored' : 'already stored';
    });
  }
}
