import * as path from 'node:path';
import { Inject, Injectable } from '@nestjs/common';
import type { Job } from 'bullmq';
import { JOB_NAMES, composeSpec, fusionProfileOptions, parsePayload } from '@kvplan/contracts';
import {
  DeploymentDocsRepository,
  DeploymentRepository,
  FusionConfigRepository,
  FusionProfileRepository,
  JobRepository,
  KvSampleRepository,
  TraceRepository,
  WorkloadProfileRepository,
} from '@kvplan/db';
import type { FusionJobSettings } from '@kvplan/model';
import type { WorkerConfig } from '../config';
import type { FusionJobInput } from '../fusion/fusion-job';
import { FusionRunner } from '../fusion/fusion-runner';
import { WORKER_CONFIG } from '../tokens';
import { PermanentJobError, progressReporter, tracked } from './tracking';

/**
 * `fusion.profile`: loads the workload profile, its trace and KV samples, the deployment and the
 * fusion config, builds the kvplan-fusion-profile/1 in a worker thread (libs/model's
 * buildWorkloadFusionProfile)
 * and stores it with what the job did. Projections of that workload then use it.
 */
@Injectable()
export class FusionProfileHandler {
  constructor(
    private readonly jobs: JobRepository,
    private readonly profiles: FusionProfileRepository,
    private readonly workloads: WorkloadProfileRepository,
    private readonly deployments: DeploymentRepository,
    private readonly deploymentDocs: DeploymentDocsRepository,
    private readonly fusionConfigs: FusionConfigRepository,
    private readonly traces: TraceRepository,
    private readonly kvSamples: KvSampleRepository,
    private readonly runner: FusionRunner,
    @Inject(WORKER_CONFIG) private readonly config: WorkerConfig,
  ) {}

  async handle(job: Job): Promise<string> {
    const p = parsePayload(JOB_NAMES.fusionProfile, job.data);
    return tracked(job, p.runId, this.jobs, async (signal) => {
      if (!(await this.jobs.markRunning(p.runId))) return 'already finished';
      const row = await this.profiles.getById(p.fusionProfileId);
      if (!row || row.workspaceId !== p.workspaceId)
        throw new PermanentJobError(`fusion profile ${p.fusionProfileId} not found`);
      if (row.profile) {
        await this.jobs.markSucceeded(p.runId);
        return 'profile already stored';
      }
      const input = await this.input(p.workspaceId, row);
      const progress = progressReporter(job, p.runId, this.jobs);
      // A cancel stops the thread at its next checkpoint (a layer, a batch): no profile is stored.
      const built = await this.runner.run(input, progress, signal);
      const wrote = await this.profiles.saveProfile(
        row.id,
        p.runId,
        built.source,
        built.profile,
        built.details,
      );
      if (wrote) progress(1);
      return wrote ? `stored (${built.source})` : 'not stored: stored before, or the job was cancelled';
    });
  }

  private async input(
    ws: string,
    row: {
      workloadProfileId: string;
      fusionConfigId: string;
      deploymentId: string | null;
      options: Record<string, unknown>;
    },
  ): Promise<FusionJobInput> {
    const [workload, fusionConfig, deployment, kvSamples] = await Promise.all([
      this.workloads.get(ws, row.workloadProfileId),
      this.fusionConfigs.get(ws, row.fusionConfigId),
      row.deploymentId ? this.deployments.get(ws, row.deploymentId) : Promise.resolve(null),
      this.kvSamples.forWorkload(ws, row.workloadProfileId),
    ]);
    if (!workload) throw new PermanentJobError('the workload profile was deleted');
    if (!fusionConfig) throw new PermanentJobError('the fusion config was deleted');
    if (!deployment) throw new PermanentJobError('the deployment was deleted');
    const trace = workload.traceId ? await this.traces.get(ws, workload.traceId) : null;
    if (workload.traceId && !trace) throw new PermanentJobError('the workload profile trace was deleted');
    const { docs, missing } = await this.deploymentDocs.load(ws, deployment.spec);
    if (missing.length) throw new PermanentJobError(`the deployment's ${missing.join(' and ')} was deleted`);
    const f = fusionConfig.spec as unknown as FusionJobSettings;
    return {
      spec: composeSpec({ deployment, profile: workload, trace, fusionConfig: null, docs }),
      baseDir: path.resolve(this.config.storageDir),
      fusion: {
        mode: f.mode,
        thresholds: f.thresholds,
        ...(f.batchSizes !== undefined && { batchSizes: f.batchSizes }),
        ...(f.window !== undefined && { window: f.window }),
        ...(f.scope !== undefined && { scope: f.scope }),
      },
      options: fusionProfileOptions(row.options),
      trace: trace ? { id: trace.id, path: trace.storagePath } : null,
      // newest first
      kvSamples: kvSamples.reverse().map((k) => ({ id: k.id, name: k.name, path: k.storagePath })),
      modelDir: this.config.modelDir,
      tfBackend: this.config.tfBackend,
      similarityKernel: this.config.similarityKernel,
      cores: this.config.kernelThreads,
    };
  }
}
