// The CLI and the service answer the same question the same way: for one KV sample and one
// deployment, `kvplan plan` (one process) and the worker's path (the fusion-profile job, then a
// projection run with the stored profile) build the same fusion profile and reach the same
// projection verdict.
import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { FUSION_PROFILE_DEFAULTS } from '@kvplan/contracts';
import type { FusionProfile, ProjectionRun } from '@kvplan/core';
import {
  openKvSample,
  selectSimilarityKernel,
  selectTfBackend,
  SubsetKvSource,
  synthesizeKvSample,
  writeKvSample,
  type SelectedTfBackend,
} from '@kvplan/fusion';
import { projectionResult, resolveSimulationSpec, simulateRun, sloViolations } from '@kvplan/sim';
import { runFusionJob } from '../src/fusion/fusion-job';

const root = path.resolve(__dirname, '..', '..', '..');
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kvplan-parity-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

const THRESHOLDS = [0.5, 0.9];
const deployment = {
  model: {
    num_hidden_layers: 8,
    hidden_size: 512,
    num_attention_heads: 8,
    num_key_value_heads: 2,
    intermediate_size: 1536,
    vocab_size: 32000,
    max_position_embeddings: 8192,
    torch_dtype: 'bfloat16',
  },
  gpu: 'l4',
  engine: { numGpuBlocks: 600 },
  workload: {
    arrival: { process: 'poisson', rate: 20 },
    numRequests: 300,
    inputTokens: { uniform: [200, 1200] },
    outputTokens: { uniform: [50, 300] },
  },
  slo: { ttftMs: { p99: 2000 } },
};

let backend: Promise<SelectedTfBackend> | null = null;
const hooks = {
  progress: () => undefined,
  backend: () => (backend ??= selectTfBackend({ wanted: 'wasm' })),
  kernel: () => selectSimilarityKernel({ threads: 1 }),
  clock: () => performance.now(),
};

/** The profile without what names the file it was measured on. */
const comparable = (p: FusionProfile) => ({
  ...p,
  source: null,
  accuracy: p.accuracy?.map(({ how: _how, ...rest }) => rest) ?? null,
});

describe('the CLI and the worker', () => {
  it('build the same fusion profile and reach the same projection verdict', async () => {
    const sample = path.join(dir, 'sample.safetensors');
    writeKvSample(
      sample,
      synthesizeKvSample({
        numSeqs: 6,
        blocksPerSeq: 6,
        numLayers: 8,
        blockSize: 16,
        numKvHeads: 2,
        headDim: 64,
        seed: 4,
      }),
    );

    // The worker: the fusion-profile job on the uploaded sample (every sequence, in its sampled order).
    const job = await runFusionJob(
      {
        spec: deployment,
        baseDir: dir,
        fusion: { mode: 'bff', thresholds: THRESHOLDS, scope: 'global' },
        options: { ...FUSION_PROFILE_DEFAULTS, sampleSize: 6, maxPromptTokens: 4096 },
        trace: null,
        kvSamples: [{ id: 'k', name: 'sample', path: 'sample.safetensors' }],
        modelDir: null,
        tfBackend: 'wasm',
        similarityKernel: null,
        cores: 1,
      },
      hooks,
    );
    expect(job.source).toBe('kv-sample');

    // The CLI on the same sequences in the same order: `kvplan plan` in its own process.
    const order = job.details.sample.requests.map((r) => r.index);
    const reader = openKvSample(sample);
    writeKvSample(path.join(dir, 'ordered.safetensors'), new SubsetKvSource(reader, order));
    reader.close();
    fs.writeFileSync(path.join(dir, 'deploy.json'), JSON.stringify(deployment));
    fs.writeFileSync(
      path.join(dir, 'plan.yaml'),
      `deployment: deploy.json\nkv: { file: ordered.safetensors }\nfusion: { mode: bff, scope: global, thresholds: [${THRESHOLDS.join(', ')}] }\n`,
    );
    const cli = await promisify(execFile)(
      process.execPath,
      [
        path.join(root, 'cli', 'bin', 'kvplan.js'),
        'plan',
        'plan.yaml',
        '--json',
        '--profile',
        'profile.json',
      ],
      { cwd: dir, env: { ...process.env, KVPLAN_TF_BACKEND: 'wasm' } },
    );
    const doc = JSON.parse(cli.stdout);
    const cliProfile = JSON.parse(fs.readFileSync(path.join(dir, 'profile.json'), 'utf8')) as FusionProfile;
    expect(comparable(cliProfile)).toEqual(comparable(job.profile));
    expect(cliProfile.rateDistortion).not.toBeNull();

    // The projection: what the worker's simulation thread runs (sim-thread-main.ts: the resolver
    // given the stored profile object, then simulateRun), at each threshold. (In-process here:
    // a simulation thread started from a process that has loaded tfjs's wasm backend, as this
    // test has, can take the test runner down; the worker never mixes the two in one process.)
    const run = (spec: Record<string, unknown>, fusionProfile: unknown = null): ProjectionRun =>
      simulateRun(resolveSimulationSpec(spec, { fileName: 'spec', baseDir: dir, fusionProfile }));
    const without = run(deployment);
    expect(without.result).toMatchObject(doc.baseline);
    for (const [i, threshold] of THRESHOLDS.entries()) {
      const fused = run({ ...deployment, fusion: { mode: 'bff', threshold, scope: 'global' } }, job.profile);
      const row = doc.thresholds[i];
      expect(fused.result).toMatchObject(row.projection);
      const r = projectionResult(without, fused, 'stored');
      expect(r.fusion).toMatchObject({ threshold, profileSource: 'kv-sample' });
      // Same numbers, so the same verdict: the gain, and the SLO terms met or missed.
      expect(r.throughputGain).toBe(row.projection.output_throughput / doc.baseline.output_throughput);
      expect(sloViolations(fused.result, deployment.slo)).toEqual(
        sloViolations(row.projection, deployment.slo),
      );
    }
  }, 180_000);
});
