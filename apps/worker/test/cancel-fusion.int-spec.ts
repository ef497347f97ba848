// A fusion-profile job cancelled mid-run, against the real PostgreSQL with the real fusion thread:
// cancelled as POST /jobs/:id/cancel does it (the row turns failed with `cancelled`), the job sees
// the row, its thread stops at the next layer (a checkpoint, inside the grace period after which it
// would be terminated), no profile is stored and the job stays cancelled.
// (One job thread per test file: a vitest fork that starts several job threads in a row can die
// with SIGSEGV, with or without cancels; a plain node process, as the worker runs, does not.)
import { describe, expect, it } from 'vitest';
import { JOB_CANCELLED, JOB_NAMES } from '@kvplan/contracts';
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
import type { WorkerConfig } from '../src/config';
import { ThreadFusionRunner } from '../src/fusion/fusion-runner';
import { FusionProfileHandler } from '../src/handlers/fusion-profile.handler';
import { CANCEL_POLL_MS } from '../src/handlers/tracking';
import { STOP_GRACE_MS } from '../src/run-in-thread';
import { bullJob, cancelMidRun, jobTestEnv, rejection } from './support/jobs';

const env = jobTestEnv('cancel_fusion');

describe('a cancelled fusion-profile job', () => {
  it('stops at a checkpoint mid-fusion, stores no profile and stays cancelled', async () => {
    const { ds, ws } = env;
    const jobs = new JobRepository(ds);
    const profiles = new FusionProfileRepository(ds);
    const deployment = await new DeploymentRepository(ds).create(ws, {
      name: '8b',
      spec: { model: 'meta-llama/Llama-3.1-8B', gpu: 'h100-sxm' },
    });
    const workload = await new WorkloadProfileRepository(ds).create(ws, {
      name: 'w',
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
      storageDir: env.storage,
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
    // Synthetic KV of 8 sequences x 8 blocks in Llama-3.1-8B's shape: the whole job fuses 28
    // layers one after the other for about 15-20 s on two busy cores.
    const { fusionProfile, job } = await profiles.createWithJob(ws, {
      workloadProfileId: workload.id,
      fusionConfigId: fusionConfig.id,
      deploymentId: deployment.id,
      options: { sampleSize: 8, maxPromptTokens: 128 },
    });
    const progress: number[] = [];
    const run = () =>
      handler.handle(
        bullJob(ws, JOB_NAMES.fusionProfile, { runId: job.id, fusionProfileId: fusionProfile.id }, progress),
      );

    // Cancelled once a fifth of its layers are fused.
    const { outcome, stopMs } = await cancelMidRun(env, job.id, run, () =>
      progress.some((p) => p >= 0.2 && p < 0.5),
    );
    const lastBefore = Math.max(...progress);
    expect(rejection(outcome)).toContain('fusion stopped: the job was cancelled');
    // Seen by the row poll, then at the next layer: inside the grace period after which the thread
    // would be terminated instead (a stop that took that long could not tell them apart).
    expect(stopMs).toBeLessThan(STOP_GRACE_MS);
    expect(lastBefore).toBeLessThan(0.8);
    console.log(
      `fusion job: cancelled at ${Math.round(lastBefore * 100)} %, stopped ${Math.round(stopMs)} ms ` +
        `after the cancel (row poll every ${CANCEL_POLL_MS} ms)`,
    );

    // Nothing stored, the job still cancelled, no progress after the stop, even a while later.
    await new Promise((r) => setTimeout(r, 1500));
    const row = (await profiles.getById(fusionProfile.id))!;
    expect(row.profile).toBeNull();
    expect(row.source).toBeNull();
    expect(await jobs.getById(job.id)).toMatchObject({ status: 'failed', error: JOB_CANCELLED });
    expect((await jobs.getById(job.id))!.progress).toBeLessThan(1);
    expect(Math.max(...progress)).toBe(lastBefore);
  }, 120_000);
});
