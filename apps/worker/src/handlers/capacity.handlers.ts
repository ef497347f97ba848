import { Injectable } from '@nestjs/common';
import type { Job } from 'bullmq';
import { JOB_NAMES, parsePayload } from '@kvplan/contracts';
import { CapacityPlanRepository, FusionProfileRepository, JobRepository } from '@kvplan/db';
import type { AnswerRow, CapacityPoint, RunMetrics, SloSpec } from '@kvplan/core';
import {
  applyPoint,
  capacityAnswer,
  gpusPerReplica,
  planAnswer,
  unfitAnswerRow,
  type SweepMode,
} from '@kvplan/sim';
import type { CapacityPlanEntity } from '@kvplan/db';
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
      const point = plan.points[p.pointIndex] as CapacityPoint | undefined;
      if (!point) throw new PermanentJobError(`capacity plan has no point ${p.pointIndex}`);
      // A cancelled plan starts no more points; a point stored before (a retried plan, a run
      // delivered twice) is not simulated again.
      if (!(await this.jobs.isOpen(plan.jobId))) return 'plan finished: not run';
      if (await this.plans.hasPoint(plan.id, p.pointIndex)) return 'already stored';
      await this.jobs.markStartedIfQueued(plan.jobId);
      // An answer point names the stored profile for its own deployment (null: the parametric one).
      const profileId = point.fusionProfileId !== undefined ? point.fusionProfileId : plan.fusionProfileId;
      const stored = profileId ? await this.fusionProfiles.getById(profileId) : null;
      const progress = (f: number) => void job.updateProgress(f).catch(() => undefined);
      const opts = { fusionProfile: stored?.profile ?? null, signal };
      const result: object =
        plan.mode === 'answer'
          ? await this.answerRow(plan, p.pointIndex, point, progress, opts)
          : (await this.runner.run(applyPoint(plan.spec, point), progress, opts)).result;
      const wrote = await this.plans.savePoint(plan.id, p.pointIndex, result);
      const done = (await this.plans.storedPointIndexes(plan.id)).length;
      await this.jobs.setProgress(plan.jobId, (0.95 * done) / plan.points.length);
      return wrote ? 'stored' : 'not stored: stored before, or the plan was cancelled';
    });
  }

  /**
   * An answer plan's configuration: the capacity search in a simulation thread, or, for one the
   * api found cannot be deployed at all, its infeasible row without a simulation.
   */
  private answerRow(
    plan: CapacityPlanEntity,
    index: number,
    point: CapacityPoint,
    progress: (f: number) => void,
    opts: { fusionProfile: Record<string, unknown> | null; signal: AbortSignal },
  ): Promise<AnswerRow> {
    const config = {
      index,
      deploymentId: point.deploymentId ?? '',
      deploymentName: point.deploymentName ?? '',
    };
    if (point.unfit !== undefined) {
      const fusion = plan.spec.fusion as { mode?: 'bff' | 'cff' } | undefined;
      const threshold = point.threshold ?? null;
      return Promise.resolve(
        unfitAnswerRow(
          {
            ...config,
            gpu: point.gpu ?? '',
            tensorParallel: point.tensorParallel ?? 1,
            ...(typeof point.deployment?.pipelineParallel === 'number' && {
              pipelineParallel: point.deployment.pipelineParallel,
            }),
            threshold,
            fusionMode: threshold === null ? null : (fusion?.mode ?? null),
          },
          point.unfit,
        ),
      );
    }
    return this.runner.answer(
      applyPoint(plan.spec, point),
      {
        slo: plan.slo as SloSpec,
        config,
        ...(point.targetRate !== undefined && { targetRate: point.targetRate }),
        maxReplicas: MAX_ANSWER_REPLICAS,
      },
      progress,
      opts,
    );
  }
}

/** The most replicas an answer plan's search tries for the target rate (the service's replica bound). */
export const MAX_ANSWER_REPLICAS = 256;

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
      if (plan.mode === 'answer') {
        const answer = planAnswer(stored.map((s) => s.result as unknown as AnswerRow));
        return (await this.plans.saveResult(plan.id, p.runId, answer)) ? 'stored' : 'already stored';
      }
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
      const mode: SweepMode = plan.mode;
      const answer = capacityAnswer(mode, outcomes, plan.slo as SloSpec | null, perReplica);
      return (await this.plans.saveResult(plan.id, p.runId, answer)) ? 'stored' : 'already stored';
    });
  }
}
