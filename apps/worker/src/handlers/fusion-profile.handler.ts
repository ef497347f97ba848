import { Injectable } from '@nestjs/common';
import type { Job } from 'bullmq';
import { JOB_NAMES, parsePayload } from '@kvplan/contracts';
import { FusionProfileRepository, JobRepository } from '@kvplan/db';
import { PermanentJobError, tracked } from './tracking';

/**
 * Builds a kvplan-fusion-profile/1 for a workload profile and a fusion config. The builder
 * (libs/fusion: sample requests, obtain KV, run BFF/CFF) plugs in behind this interface.
 */
export abstract class FusionProfileBuilder {
  abstract build(input: {
    workspaceId: string;
    workloadProfileId: string;
    fusionConfigId: string;
  }): Promise<{ source: 'synthetic' | 'kv-sample' | 'model'; profile: Record<string, unknown> }>;
}

/** Until @kvplan/fusion lands: fusion jobs fail at once with a clear message, never a fake profile. */
export class UnavailableFusionProfileBuilder extends FusionProfileBuilder {
  async build(): Promise<never> {
    throw new PermanentJobError(
      'building fusion profiles is not available in this worker yet (@kvplan/fusion)',
    );
  }
}

/** `fusion.profile`. */
@Injectable()
export class FusionProfileHandler {
  constructor(
    private readonly jobs: JobRepository,
    private readonly profiles: FusionProfileRepository,
    private readonly builder: FusionProfileBuilder,
  ) {}

  async handle(job: Job): Promise<string> {
    const p = parsePayload(JOB_NAMES.fusionProfile, job.data);
    return tracked(job, p.runId, this.jobs, async () => {
      if (!(await this.jobs.markRunning(p.runId))) return 'already finished';
      const row = await this.profiles.getById(p.fusionProfileId);
      if (!row || row.workspaceId !== p.workspaceId)
        throw new PermanentJobError(`fusion profile ${p.fusionProfileId} not found`);
      const built = await this.builder.build({
        workspaceId: p.workspaceId,
        workloadProfileId: row.workloadProfileId,
        fusionConfigId: row.fusionConfigId,
      });
      return (await this.profiles.saveProfile(row.id, p.runId, built.source, built.profile))
        ? 'stored'
        : 'already stored';
    });
  }
}
