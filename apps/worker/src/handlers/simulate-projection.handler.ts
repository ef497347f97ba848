import { Injectable } from '@nestjs/common';
import type { Job } from 'bullmq';
import { JOB_NAMES, parsePayload } from '@kvplan/contracts';
import {
  FusionProfileRepository,
  JobRepository,
  ProjectionRepository,
  type FusionProfileEntity,
  type ProjectionEntity,
} from '@kvplan/db';
import { projectionResult } from '@kvplan/sim';
import { SimRunner } from '../sim/sim-runner';
import { PermanentJobError, progressReporter, tracked } from './tracking';

/** `simulate.projection`: runs the projection's spec without and with fusion and stores one result. */
@Injectable()
export class SimulateProjectionHandler {
  constructor(
    private readonly jobs: JobRepository,
    private readonly projections: ProjectionRepository,
    private readonly runner: SimRunner,
    private readonly fusionProfiles: FusionProfileRepository,
  ) {}

  /**
   * The fusion profile a fusion job built for this projection's workload and fusion config (one
   * built for its deployment preferred), when its mode is the spec's; null: the simulator's
   * parametric profile.
   */
  private async storedProfile(
    projection: ProjectionEntity,
    mode: unknown,
  ): Promise<FusionProfileEntity | null> {
    if (!projection.workloadProfileId || !projection.fusionConfigId) return null;
    return this.fusionProfiles.latestBuilt(
      projection.workspaceId,
      projection.workloadProfileId,
      projection.fusionConfigId,
      projection.deploymentId,
      mode,
    );
  }

  async handle(job: Job): Promise<string> {
    const p = parsePayload(JOB_NAMES.simulateProjection, job.data);
    return tracked(job, p.runId, this.jobs, async (signal) => {
      if (!(await this.jobs.markRunning(p.runId))) return 'already finished';
      const projection = await this.projections.getById(p.projectionId);
      if (!projection || projection.workspaceId !== p.workspaceId)
        throw new PermanentJobError(`projection ${p.projectionId} not found`);
      if (projection.result) {
        await this.jobs.markSucceeded(p.runId);
        return 'result already stored';
      }
      const spec = projection.spec;
      const fusion = (spec.fusion as { mode?: unknown } | undefined) ?? null;
      const progress = progressReporter(job, p.runId, this.jobs);
      const { fusion: _f, ...baseline } = spec;
      const stored = fusion ? await this.storedProfile(projection, fusion.mode) : null;
      const without = await this.runner.run(baseline, (f) => progress(fusion ? f / 2 : f), {
        charts: true,
        signal,
      });
      const withFusion = fusion
        ? await this.runner.run(spec, (f) => progress(0.5 + f / 2), {
            charts: true,
            fusionProfile: stored?.profile ?? null,
            signal,
          })
        : null;
      const wrote = await this.projections.saveResult(
        projection.id,
        p.runId,
        projectionResult(without, withFusion, stored?.id ?? null),
      );
      progress(1);
      return wrote ? 'stored' : 'result already stored';
    });
  }
}
