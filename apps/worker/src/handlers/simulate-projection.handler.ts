import { Injectable } from '@nestjs/common';
import type { Job } from 'bullmq';
import { JOB_NAMES, parsePayload } from '@kvplan/contracts';
import { JobRepository, ProjectionRepository } from '@kvplan/db';
import { SimRunner } from '../sim/sim-runner';
import { projectionResult, type FusionInfo } from './results';
import { PermanentJobError, progressReporter, tracked } from './tracking';

/** `simulate.projection`: runs the projection's spec without and with fusion and stores one result. */
@Injectable()
export class SimulateProjectionHandler {
  constructor(
    private readonly jobs: JobRepository,
    private readonly projections: ProjectionRepository,
    private readonly runner: SimRunner,
  ) {}

  async handle(job: Job): Promise<string> {
    const p = parsePayload(JOB_NAMES.simulateProjection, job.data);
    return tracked(job, p.runId, this.jobs, async () => {
      if (!(await this.jobs.markRunning(p.runId))) return 'already finished';
      const projection = await this.projections.getById(p.projectionId);
      if (!projection || projection.workspaceId !== p.workspaceId)
        throw new PermanentJobError(`projection ${p.projectionId} not found`);
      if (projection.result) {
        await this.jobs.markSucceeded(p.runId);
        return 'result already stored';
      }
      const spec = projection.spec;
      const fusion = (spec.fusion as Record<string, unknown> | undefined) ?? null;
      const progress = progressReporter(job, p.runId, this.jobs);
      const { fusion: _f, ...baseline } = spec;
      const charts = { charts: true };
      const without = await this.runner.run(baseline, (f) => progress(fusion ? f / 2 : f), charts);
      const withFusion = fusion ? await this.runner.run(spec, (f) => progress(0.5 + f / 2), charts) : null;
      const info: FusionInfo | null = fusion
        ? {
            mode: String(fusion.mode),
            threshold: Number(fusion.threshold),
            scope: String(fusion.scope ?? 'global'),
            profileSource: 'parametric',
            accuracy: null,
          }
        : null;
      const wrote = await this.projections.saveResult(
        projection.id,
        p.runId,
        projectionResult(without, withFusion, info),
      );
      progress(1);
      return wrote ? 'stored' : 'result already stored';
    });
  }
}
