import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  cffChunkTokens,
  selectSimilarityKernel,
  selectTfBackend,
  stratifiedSample,
  synthesizeKvSample,
  writeKvSample,
  type SelectedTfBackend,
} from '@kvplan/fusion';
import { readTracePrompts, traceCarriesPrompts, writeRandomModelFolder } from '@kvplan/model';
import { FUSION_PROFILE_DEFAULTS } from '@kvplan/contracts';
import { InputError } from '@kvplan/core';
import { WorkerConfigError, loadWorkerConfig } from '../src/config';
import { layerThreadsOf, runFusionJob, type FusionJobInput } from '../src/fusion/fusion-job';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kvplan-fusion-build-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

// A small Llama-shaped model (6 layers: the middle 2 are fused) keeps every case fast.
const TINY_MODEL = {
  architectures: ['LlamaForCausalLM'],
  model_type: 'llama',
  hidden_size: 64,
  intermediate_size: 128,
  num_attention_heads: 4,
  num_key_value_heads: 2,
  num_hidden_layers: 6,
  vocab_size: 256,
  max_position_embeddings: 1024,
  rope_theta: 10000,
  rms_norm_eps: 1e-5,
  torch_dtype: 'float32',
};
const deployment = { model: TINY_MODEL, gpu: 'l4', engine: { blockSize: 16, maxModelLen: 1024 } };

let backend: Promise<SelectedTfBackend> | null = null;
const hooks = (progress: number[] = []) => ({
  progress: (f: number) => progress.push(f),
  backend: () => (backend ??= selectTfBackend({ wanted: 'wasm' })),
  kernel: () => selectSimilarityKernel({ threads: 1 }),
  clock: () => performance.now(),
});

function input(over: Partial<FusionJobInput> & { workload: Record<string, unknown> }): FusionJobInput {
  const { workload, ...rest } = over;
  return {
    spec: { ...deployment, workload },
    baseDir: dir,
    fusion: { mode: 'bff', thresholds: [0.3, 0.9] },
    options: { ...FUSION_PROFILE_DEFAULTS, sampleSize: 6, maxPromptTokens: 128 },
    trace: null,
    kvSamples: [],
    modelDir: null,
    tfBackend: 'wasm',
    similarityKernel: null,
    cores: 1,
    ...rest,
  };
}

function writeTrace(name: string, lines: string[]): { id: string; path: string } {
  fs.writeFileSync(path.join(dir, name), lines.join('\n') + '\n');
  return { id: name, path: name };
}

describe('stratifiedSample', () => {
  const lengths = Array.from({ length: 400 }, (_, i) => ((i * 7919) % 400) + 1); // 1..400, shuffled

  it('is deterministic in the seed and draws from every length stratum', () => {
    const a = stratifiedSample(lengths, 16, 3);
    expect(stratifiedSample(lengths, 16, 3)).toEqual(a);
    expect(stratifiedSample(lengths, 16, 4)).not.toEqual(a);
    expect(new Set(a).size).toBe(16);
    // 8 strata of 50 requests by length, 2 picks each
    const perStratum = new Array(8).fill(0);
    for (const i of a) perStratum[Math.floor((lengths[i] - 1) / 50)]++;
    expect(perStratum).toEqual([2, 2, 2, 2, 2, 2, 2, 2]);
  });

  it('takes every request when asked for more than there are, in a seeded order', () => {
    const s = stratifiedSample([5, 1, 3], 10, 1);
    expect([...s].sort()).toEqual([0, 1, 2]);
  });

  it('keeps short and long prompts in a skewed workload', () => {
    const skewed = [...new Array(95).fill(100), 5000, 6000, 7000, 8000, 9000];
    const s = stratifiedSample(skewed, 10, 1);
    expect(s.some((i) => skewed[i] >= 5000)).toBe(true);
    expect(s.some((i) => skewed[i] === 100)).toBe(true);
  });
});

describe('trace prompts', () => {
  it('finds text or token_ids columns and skips rows without a prompt', () => {
    const csv = 'arrival_time_s,input_tokens,output_tokens,token_ids\n0,3,1,"[1,2,3]"\n1,4,1,\n2,2,1,7 8\n';
    expect(traceCarriesPrompts(csv, 'kvplan-csv')).toBe(true);
    expect(readTracePrompts(csv, 'kvplan-csv').map((r) => r.tokenIds)).toEqual([
      [1, 2, 3],
      [7, 8],
    ]);
    expect(traceCarriesPrompts('arrival_time_s,input_tokens,output_tokens\n0,1,1\n', 'kvplan-csv')).toBe(
      false,
    );
    const jsonl =
      '{"arrival_time_s":0,"input_tokens":2,"output_tokens":1}\n{"arrival_time_s":1,"input_tokens":2,"output_tokens":1,"text":"hi"}\n';
    expect(traceCarriesPrompts(jsonl, 'kvplan-jsonl')).toBe(true);
    const recs = readTracePrompts(jsonl, 'kvplan-jsonl');
    expect(recs).toHaveLength(1);
    expect(recs[0]).toMatchObject({ text: 'hi', where: 'trace.jsonl:2' });
  });

  it('reports a malformed token_ids cell by its line', () => {
    const csv = 'arrival_time_s,input_tokens,output_tokens,token_ids\n0,3,1,"[1,2,3]"\n1,4,1,"[1,x]"\n';
    expect(() => readTracePrompts(csv, 'kvplan-csv')).toThrow(/trace\.csv:3/);
  });
});

describe('cffChunkTokens', () => {
  it('fits a window of chunks into the longest prompt, in whole blocks, at most 512 tokens', () => {
    expect(cffChunkTokens([100, 300], 4, 16)).toBe(64);
    expect(cffChunkTokens([100000], 4, 16)).toBe(512);
    expect(() => cffChunkTokens([40], 4, 16)).toThrow(/window of 4 chunks/);
  });
});

describe('runFusionJob', () => {
  it('synthesises KV shaped like the deployment model from a generator workload and says so', async () => {
    const progress: number[] = [];
    const out = await runFusionJob(
      input({
        workload: {
          arrival: { process: 'poisson', rate: 5 },
          numRequests: 200,
          inputTokens: { uniform: [40, 160] },
          outputTokens: { fixed: 10 },
        },
        fusion: { mode: 'bff', thresholds: [0.3, 0.9], batchSizes: [4, 8] },
      }),
      hooks(progress),
    );
    expect(out.source).toBe('synthetic');
    // The kernel that ran the similarity products is in the job's details.
    expect(out.details).toMatchObject({ similarityKernel: 'onnxruntime-node' });
    const p = out.profile as {
      source: string;
      numLayers: number;
      fusedLayers: number[];
      points: Array<{ threshold: number; batchSize: number; survivingFraction: number[] }>;
      rateDistortion: { layers: unknown[] } | null;
      accuracy: Array<{ metric: string }> | null;
    };
    expect(p.source).toBe('synthetic');
    expect(p.numLayers).toBe(6);
    expect(p.fusedLayers).toEqual([2, 3]);
    // both configured batch sizes measured at both thresholds
    for (const t of [0.3, 0.9])
      for (const b of [4, 8]) expect(p.points.some((x) => x.threshold === t && x.batchSize === b)).toBe(true);
    // fusing at 0.3 removes more than at 0.9
    const at = (t: number) =>
      p.points.find((x) => x.threshold === t && x.batchSize === 8)!.survivingFraction[2];
    expect(at(0.3)).toBeLessThan(at(0.9));
    expect(p.rateDistortion?.layers).toHaveLength(2);
    expect(p.accuracy?.[0].metric).toBe('attention-output-rel-error');
    const d = out.details as unknown as {
      reasons: string[];
      sample: { size: number; available: number; requests: Array<{ promptTokens: number }> };
      fusion: { scope: string; batchSizes: number[] };
      kv: { synthetic: boolean; shape: { numKvHeads: number; headDim: number } };
    };
    expect(d.reasons.join(' ')).toMatch(/generator/);
    expect(d.reasons.join(' ')).toMatch(/no uploaded KV sample/);
    expect(d.sample.size).toBe(8); // the largest batch size beats sampleSize 6
    expect(d.sample.available).toBe(200);
    expect(Math.max(...d.sample.requests.map((r) => r.promptTokens))).toBeLessThanOrEqual(128);
    expect(d.fusion).toMatchObject({ scope: 'global', batchSizes: [4, 8] });
    expect(d.kv).toMatchObject({ synthetic: true, shape: { numKvHeads: 2, headDim: 16 } });
    expect(progress.at(-1)).toBeCloseTo(1, 5);
  }, 60_000);

  it('fuses with scope tenant when the trace names tenants, unless the fusion config says otherwise', async () => {
    const rows = Array.from(
      { length: 12 },
      (_, i) => `${i * 0.1},${64 + 8 * i},5,${i % 2 ? 'acme' : 'globex'}`,
    );
    const trace = writeTrace('tenants.csv', ['arrival_time_s,input_tokens,output_tokens,tenant', ...rows]);
    const base = input({ workload: {}, trace });
    base.spec = { ...deployment, workload: { trace: trace.path } };
    const def = await runFusionJob(base, hooks());
    expect(def.details.fusion.scope).toBe('tenant');
    expect(def.details.sample.requests[0].tenant).toMatch(/acme|globex/);
    const forced = await runFusionJob({ ...base, fusion: { ...base.fusion, scope: 'global' } }, hooks());
    expect(forced.details.fusion.scope).toBe('global');
    expect(forced.details.reasons.join(' ')).toMatch(/neither text nor token_ids/);
  }, 60_000);

  it('uses the newest KV sample tied to the workload profile, sampled by sequence length', async () => {
    const sample = synthesizeKvSample({
      numSeqs: 10,
      blocksPerSeq: 6,
      numLayers: 5,
      blockSize: 16,
      numKvHeads: 2,
      headDim: 16,
      lengths: 'ragged',
      seed: 7,
    });
    writeKvSample(path.join(dir, 'kv.safetensors'), sample);
    const out = await runFusionJob(
      input({
        workload: {
          arrival: { rate: 1 },
          numRequests: 20,
          inputTokens: { fixed: 64 },
          outputTokens: { fixed: 4 },
        },
        kvSamples: [{ id: 'k1', name: 'captured', path: 'kv.safetensors' }],
      }),
      hooks(),
    );
    expect(out.source).toBe('kv-sample');
    expect((out.profile as { numLayers: number }).numLayers).toBe(5);
    const d = out.details as unknown as {
      sample: { size: number; from: string };
      kv: { kvSampleId: string };
    };
    expect(d.sample).toMatchObject({ size: 6, from: 'KV sample captured' });
    expect(d.kv.kvSampleId).toBe('k1');
  }, 60_000);

  it('captures KV with the worker model when the trace carries token ids, and measures accuracy', async () => {
    const modelDir = path.join(dir, 'tiny-model');
    writeRandomModelFolder(modelDir, TINY_MODEL, { seed: 3, dtype: 'F32' });
    const rows = Array.from({ length: 6 }, (_, i) => {
      const ids = Array.from({ length: 48 + 8 * i }, (_, k) => (k * 31 + i * 7) % 250);
      return JSON.stringify({
        arrival_time_s: i,
        input_tokens: ids.length,
        output_tokens: 4,
        token_ids: ids,
      });
    });
    const trace = writeTrace('prompts.jsonl', rows);
    const base = input({ workload: {}, trace, modelDir });
    base.spec = { ...deployment, workload: { trace: trace.path } };
    const out = await runFusionJob(base, hooks());
    expect(out.source).toBe('model');
    const acc = (out.profile as { accuracy: Array<{ metric: string; how: string; threshold: number }> })
      .accuracy;
    const agreement = acc.filter((a) => a.metric === 'next-token-agreement');
    expect(agreement.map((a) => a.threshold)).toEqual([0.3, 0.9]);
    expect(agreement[0].how).toMatch(/measured on/);
    expect((out.details as { sample: { size: number } }).sample.size).toBe(6);

    // the same trace without a model folder: synthetic, and the reason names KVPLAN_MODEL_DIR
    const without = await runFusionJob({ ...base, modelDir: null }, hooks());
    expect(without.source).toBe('synthetic');
    expect(without.details.reasons.join(' ')).toMatch(/KVPLAN_MODEL_DIR/);
  }, 120_000);

  it('fuses layers in threads by the one thread policy, with the same profile as in its own thread', async () => {
    const sample = synthesizeKvSample({
      numSeqs: 8,
      blocksPerSeq: 6,
      numLayers: 8,
      blockSize: 16,
      numKvHeads: 2,
      headDim: 16,
      seed: 11,
    });
    writeKvSample(path.join(dir, 'kv-threads.safetensors'), sample);
    const job = (cores: number) =>
      input({
        workload: {
          arrival: { rate: 1 },
          numRequests: 20,
          inputTokens: { fixed: 96 },
          outputTokens: { fixed: 4 },
        },
        fusion: { mode: 'bff', thresholds: [0.3, 0.9], batchSizes: [4, 8] },
        kvSamples: [{ id: 'k', name: 'threads', path: 'kv-threads.safetensors' }],
        cores,
        // small layers: worth a thread here, so that the policy is what decides
        minLayerElementsPerThread: 1,
      });
    const one = job(1);
    const two = job(2);
    const inOwn = await runFusionJob(one, { ...hooks(), layerThreads: layerThreadsOf(one) });
    const threaded = await runFusionJob(two, { ...hooks(), layerThreads: layerThreadsOf(two) });
    expect(inOwn.details.layerThreads).toBe(1);
    expect(threaded.details.layerThreads).toBe(2);
    const strip = (p: unknown) => {
      const { points, rateDistortion, fusedLayers } = p as Record<string, unknown>;
      return { points, rateDistortion, fusedLayers };
    };
    expect(strip(threaded.profile)).toEqual(strip(inOwn.profile));
    // the default least work per thread keeps a sample this small in the job's own thread
    const small = { ...two, minLayerElementsPerThread: undefined };
    expect(layerThreadsOf(small)(4, 8 * 6 * 512)).toBeNull();
  }, 120_000);

  it('refuses a KV sample holding NaN, naming the layer and tensor, in its own thread or in layer threads', async () => {
    const sample = synthesizeKvSample({
      numSeqs: 6,
      blocksPerSeq: 4,
      numLayers: 6,
      blockSize: 16,
      numKvHeads: 2,
      headDim: 16,
      seed: 12,
    });
    const file = path.join(dir, 'kv-nan.safetensors');
    writeKvSample(file, sample);
    const buf = fs.readFileSync(file);
    const headerLen = Number(buf.readBigUInt64LE(0));
    const header = JSON.parse(buf.subarray(8, 8 + headerLen).toString('utf8'));
    // layer 3 (fused) key, sequence 0, block 1, token 2, head 0, dim 4
    const flat = ((0 * 4 + 1) * 16 + 2) * 2 * 16 + 4;
    buf.writeFloatLE(NaN, 8 + headerLen + (header['layers.3.key'].data_offsets[0] as number) + flat * 4);
    fs.writeFileSync(file, buf);
    for (const cores of [1, 2]) {
      const job = input({
        workload: {
          arrival: { rate: 1 },
          numRequests: 20,
          inputTokens: { fixed: 64 },
          outputTokens: { fixed: 4 },
        },
        kvSamples: [{ id: 'k', name: 'nan', path: 'kv-nan.safetensors' }],
        cores,
        minLayerElementsPerThread: 1,
      });
      const err = await runFusionJob(job, { ...hooks(), layerThreads: layerThreadsOf(job) }).catch(
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(InputError);
      expect((err as InputError).issues[0]).toMatchObject({
        path: 'kv-nan.safetensors: layers.3.key',
        message: expect.stringMatching(/^NaN at \[\d+, \d+, \d+, \d+, \d+\]; KV tensors must be finite$/),
      });
    }
  }, 120_000);

  it('reports bad input: a configured tenant scope without tenants', async () => {
    await expect(
      runFusionJob(
        input({
          workload: {
            arrival: { rate: 1 },
            numRequests: 20,
            inputTokens: { fixed: 64 },
            outputTokens: { fixed: 4 },
          },
          fusion: { mode: 'bff', thresholds: [0.5], scope: 'tenant' },
        }),
        hooks(),
      ),
    ).rejects.toThrow(/scope tenant/);
  });
});

describe('worker config: the fusion settings', () => {
  const base = { DATABASE_URL: 'postgres://h/db', REDIS_URL: 'redis://h:6379' };
  const problems = (env: Record<string, string>): string => {
    try {
      loadWorkerConfig({ ...base, ...env });
    } catch (e) {
      return (e as WorkerConfigError).problems.join('\n');
    }
    return '';
  };

  it('refuses a model folder that is missing or holds no config.json or weights, naming KVPLAN_MODEL_DIR', () => {
    expect(problems({ KVPLAN_MODEL_DIR: path.join(dir, 'no-such-model') })).toMatch(
      /KVPLAN_MODEL_DIR: ".*no-such-model" does not exist/,
    );
    const empty = fs.mkdtempSync(path.join(dir, 'empty-model-'));
    const p = problems({ KVPLAN_MODEL_DIR: empty });
    expect(p).toMatch(/config\.json" is missing/);
    expect(p).toMatch(/holds no \.safetensors weights/);
    expect(
      problems({
        KVPLAN_TF_BACKEND: 'tpu',
        KVPLAN_SIMILARITY_KERNEL: 'blas',
        RETENTION_SWEEP_INTERVAL_MS: '-1',
      }),
    ).toMatch(
      /KVPLAN_TF_BACKEND: expected one of[\s\S]*KVPLAN_SIMILARITY_KERNEL: expected one of auto, onnxruntime, tfjs, tfjs-async, js[\s\S]*RETENTION_SWEEP_INTERVAL_MS: expected an integer/,
    );
  });

  it('takes a real model folder and defaults to no model, auto backend and an hourly sweep', () => {
    const modelDir = path.join(dir, 'cfg-model');
    writeRandomModelFolder(modelDir, TINY_MODEL, { seed: 1, dtype: 'F32' });
    expect(loadWorkerConfig({ ...base, KVPLAN_MODEL_DIR: modelDir }).modelDir).toBe(modelDir);
    expect(loadWorkerConfig(base)).toMatchObject({
      modelDir: null,
      tfBackend: null,
      similarityKernel: null,
      retentionSweepIntervalMs: 3_600_000,
    });
  });
});
