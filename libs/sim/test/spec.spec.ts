import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InputError, type InputIssue } from '@kvplan/core';
import { parseSimulationSpec, resolveSimulationSpec } from '../src/simulation-spec';
import { DEFAULT_TIME_MODEL } from '../src/time/profiles';

let dir: string;
const opts = () => ({ baseDir: dir, fileName: 'spec.yaml' });
const gen = {
  arrival: { process: 'poisson', rate: 5 },
  numRequests: 50,
  inputTokens: { fixed: 500 },
  outputTokens: { fixed: 100 },
};

function issuesOf(fn: () => unknown): InputIssue[] {
  try {
    fn();
  } catch (err) {
    if (err instanceof InputError) return err.issues;
    throw err;
  }
  throw new Error('expected an InputError');
}

function coefficients(): Record<string, unknown> {
  return { ...DEFAULT_TIME_MODEL, name: 'fitted', memEfficiency: 0.77 };
}

beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kvplan-spec-'));
  const rows = ['arrival_time_s,input_tokens,output_tokens,request_id'];
  for (let i = 0; i < 10; i++) rows.push(`${i * 0.5},${300 + i},${50 + i},r${i}`);
  rows.push('5.0,4000,200,too-long');
  fs.writeFileSync(path.join(dir, 'trace.csv'), rows.join('\n') + '\n');
  fs.writeFileSync(
    path.join(dir, 'profile.json'),
    JSON.stringify({
      format: 'kvplan-fusion-profile/1',
      mode: 'bff',
      source: 'synthetic',
      model: null,
      numLayers: 4,
      fusedLayers: [2],
      blockSize: 16,
      points: [{ threshold: 0.7, batchSize: 8, survivingFraction: [1, 1, 0.4, 1] }],
      rateDistortion: null,
      accuracy: null,
    }),
  );
  fs.writeFileSync(
    path.join(dir, 'bad-profile.json'),
    JSON.stringify({
      format: 'other',
      mode: 'bff',
      source: 'x',
      numLayers: 2,
      fusedLayers: [5],
      blockSize: 16,
      points: [{ threshold: 2, survivingFraction: [1] }],
    }),
  );
  fs.writeFileSync(
    path.join(dir, 'h100.profile.json'),
    JSON.stringify({ format: 'kvplan-gpu-profile/1', gpu: 'h100-sxm', coefficients: coefficients() }),
  );
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

describe('simulation spec defaults', () => {
  it('fills vLLM V1 defaults for a >= 70 GiB non-A100 GPU', () => {
    const s = resolveSimulationSpec(
      { model: 'meta-llama/Llama-3.1-8B', gpu: 'h100-sxm', workload: gen },
      opts(),
    );
    expect(s.engine).toMatchObject({
      blockSize: 16,
      maxNumSeqs: 1024,
      maxNumBatchedTokens: 8192,
      maxModelLen: 131072,
      gpuMemoryUtilization: 0.9,
      enablePrefixCaching: true,
      kvCacheDtype: 'auto',
      weightDtype: 'bfloat16',
    });
    expect(s.engine.numGpuBlocks).toBeGreaterThan(25000);
    expect(s).toMatchObject({
      tensorParallel: 1,
      replicas: 1,
      router: 'least-loaded',
      seed: 1,
      fusion: null,
      slo: null,
      cost: null,
    });
    expect(s.timeModel).toBe(DEFAULT_TIME_MODEL);
    expect(s.timeseriesResolutionS).toBeNull();
    expect(s.workload.n).toBe(50);
  });

  it.each([
    ['a100-80gb', 256, 2048],
    ['a100-40gb', 256, 2048],
    ['l40s', 256, 2048],
    ['h200', 1024, 8192],
    ['rtx-pro-6000', 1024, 8192],
    ['rtx-4090', 256, 2048],
  ])('on %s: maxNumSeqs %d, maxNumBatchedTokens %d', (gpu, seqs, tokens) => {
    const s = resolveSimulationSpec(
      { model: 'Qwen/Qwen2.5-7B', gpu, engine: { maxModelLen: 8192 }, workload: gen },
      opts(),
    );
    expect(s.engine.maxNumSeqs).toBe(seqs);
    expect(s.engine.maxNumBatchedTokens).toBe(tokens);
  });

  it('keeps given values, derives or forces blocks, and reads every optional section', () => {
    const s = resolveSimulationSpec(
      {
        model: 'meta-llama/Llama-2-70b-hf',
        gpu: 'NVIDIA H100 80GB HBM3 (SXM)',
        tensorParallel: 4,
        replicas: 2,
        router: 'round-robin',
        engine: {
          maxNumSeqs: 128,
          maxNumBatchedTokens: 2048,
          numGpuBlocks: 31356,
          kvCacheDtype: 'fp8_e4m3',
          weightDtype: 'bf16',
          blockSize: 32,
        },
        workload: { trace: 'trace.csv', maxRequests: 10 },
        fusion: { mode: 'bff', threshold: -0.5, profile: 'profile.json', scope: 'tenant' },
        slo: { ttftMs: { p99: 500 }, tpotMs: { p90: 40, p50: 20 } },
        cost: { gpuHourUsd: 2.5 },
        seed: 7,
        calibration: 'h100.profile.json',
        timeseries: { resolutionS: 0.5 },
      },
      opts(),
    );
    expect(s.gpu.id).toBe('h100-sxm');
    expect(s.engine).toMatchObject({
      numGpuBlocks: 31356,
      kvCacheDtype: 'fp8',
      weightDtype: 'bfloat16',
      blockSize: 32,
      maxModelLen: 4096,
    });
    expect(s).toMatchObject({
      tensorParallel: 4,
      replicas: 2,
      router: 'round-robin',
      seed: 7,
      cost: { gpuHourUsd: 2.5 },
    });
    expect(s.fusion).toMatchObject({
      mode: 'bff',
      threshold: -0.5,
      scope: 'tenant',
      window: 4,
      sharedReads: false,
    });
    expect(s.fusion?.profile?.fusedLayers).toEqual([2]);
    expect(s.slo).toEqual({ ttftMs: { p99: 500 }, tpotMs: { p90: 40, p50: 20 } });
    expect(s.timeModel).toMatchObject({ name: 'fitted', memEfficiency: 0.77 });
    expect(s.timeseriesResolutionS).toBe(0.5);
    expect(s.workload.n).toBe(10);
  });

  it('fusion defaults: bff at 0.7, global, window 4, no shared reads, parametric profile', () => {
    const s = resolveSimulationSpec(
      { model: 'Qwen/Qwen3-14B', gpu: 'h100-sxm', workload: gen, fusion: {} },
      opts(),
    );
    expect(s.fusion).toEqual({
      mode: 'bff',
      threshold: 0.7,
      scope: 'global',
      window: 4,
      sharedReads: false,
      profile: null,
    });
  });

  it('parses YAML and JSON text, and reports YAML syntax errors by line', () => {
    const yaml =
      'model: mistralai/Mistral-7B-v0.1\ngpu: l40s\nworkload:\n  trace: trace.csv\n  maxRequests: 3\n';
    expect(parseSimulationSpec(yaml, opts()).workload.n).toBe(3);
    const json = JSON.stringify({
      model: 'mistralai/Mistral-7B-v0.1',
      gpu: 'l40s',
      workload: { trace: 'trace.csv', maxRequests: 4 },
    });
    expect(parseSimulationSpec(json, { ...opts(), fileName: 'spec.json' }).workload.n).toBe(4);
    const bad = issuesOf(() => parseSimulationSpec('model: x\ngpu: [l4\nworkload: 3\n', opts()));
    expect(bad[0].path).toMatch(/^spec\.yaml:\d+$/);
    const dup = issuesOf(() => parseSimulationSpec('model: a\nmodel: b\n', opts()));
    expect(dup[0]).toEqual({ path: 'spec.yaml:2', message: 'not valid YAML/JSON: Map keys must be unique' });
  });
});

describe('simulation spec: every bad input in one error', () => {
  it('collects unknown keys at every level, wrong types and impossible values together', () => {
    const issues = issuesOf(() =>
      resolveSimulationSpec(
        {
          model: 'meta-llama/Llama-3.1-8B',
          gpu: 'h100-sxm',
          tensorParalel: 2,
          replicas: 0,
          router: 'random',
          engine: {
            blockSize: 0,
            gpuMemoryUtilization: 1.5,
            maxNumSeqs: 'many',
            kvCacheDtype: 'int3',
            turbo: true,
            enablePrefixCaching: 'yes',
          },
          workload: {
            arrival: { process: 'poisson', rate: -2 },
            numRequests: 10,
            inputTokens: { fixed: 10 },
            outputTokens: { fixed: 10 },
          },
          fusion: { mode: 'xff', threshold: 1.5, window: 0, extra: 1 },
          slo: { ttftMs: { p95: 100 }, tpotMs: { p99: -1 } },
          cost: { gpuHourUsd: 'cheap' },
          seed: -1,
          calibration: 'no-such-profile',
          timeseries: { resolutionS: 0 },
        },
        opts(),
      ),
    );
    const paths = issues.map((i) => i.path);
    expect(paths).toEqual(
      expect.arrayContaining([
        'tensorParalel',
        'replicas',
        'router',
        'engine.blockSize',
        'engine.gpuMemoryUtilization',
        'engine.maxNumSeqs',
        'engine.kvCacheDtype',
        'engine.turbo',
        'engine.enablePrefixCaching',
        'workload.arrival.rate',
        'fusion.mode',
        'fusion.threshold',
        'fusion.window',
        'fusion.extra',
        'slo.ttftMs.p95',
        'slo.tpotMs.p99',
        'cost.gpuHourUsd',
        'seed',
        'calibration',
        'timeseries.resolutionS',
      ]),
    );
    const msg = (p: string) => issues.find((i) => i.path === p)?.message ?? '';
    expect(msg('tensorParalel')).toMatch(/did you mean tensorParallel\?/);
    expect(msg('tensorParalel')).toMatch(/allowed keys: model, gpu, tensorParallel/);
    expect(msg('engine.turbo')).toMatch(/allowed keys: blockSize/);
    expect(msg('engine.gpuMemoryUtilization')).toMatch(/\(0, 1\]/);
    expect(msg('router')).toMatch(/round-robin, least-loaded/);
  });

  it('requires model, gpu and workload', () => {
    const issues = issuesOf(() => resolveSimulationSpec({}, opts()));
    expect(issues.map((i) => i.path).sort()).toEqual(['gpu', 'model', 'workload']);
    expect(issuesOf(() => resolveSimulationSpec([1, 2], opts()))[0].message).toMatch(/spec object/);
  });

  it.each([3, 12, 24, 100, 300])('rejects blockSize %d (powers of two from 1 to 256 only)', (blockSize) => {
    const issues = issuesOf(() =>
      resolveSimulationSpec(
        { model: 'Qwen/Qwen3-14B', gpu: 'h100-sxm', engine: { blockSize }, workload: gen },
        opts(),
      ),
    );
    expect(issues.map((i) => i.path)).toEqual(['engine.blockSize']);
  });

  it('rejects a tensorParallel that does not divide the heads, and a model that does not fit, with numbers', () => {
    const tp = issuesOf(() =>
      resolveSimulationSpec(
        { model: 'Qwen/Qwen2.5-7B', gpu: 'h100-sxm', tensorParallel: 3, workload: gen },
        opts(),
      ),
    );
    expect(tp.map((i) => i.path)).toEqual(['tensorParallel']);
    expect(tp[0].message).toMatch(/28 attention heads/);
    const fit = issuesOf(() =>
      resolveSimulationSpec(
        { model: 'meta-llama/Llama-2-70b-hf', gpu: 'l40s', tensorParallel: 2, replicas: -1, workload: gen },
        opts(),
      ),
    );
    expect(fit.map((i) => i.path).sort()).toEqual(['model', 'replicas']);
    expect(fit.find((i) => i.path === 'model')?.message).toMatch(
      /needs 64\.\d\d GiB of weights per GPU, 40\.\d\d GiB available/,
    );
  });

  it('rejects maxModelLen above the model and above what the KV cache holds', () => {
    const above = issuesOf(() =>
      resolveSimulationSpec(
        { model: 'meta-llama/Llama-2-7b-hf', gpu: 'h100-sxm', engine: { maxModelLen: 8192 }, workload: gen },
        opts(),
      ),
    );
    expect(above.map((i) => i.path)).toEqual(['engine.maxModelLen']);
    // Llama-3.1-8B's 131072-token default does not fit a 4090's KV cache: vLLM refuses to start.
    const kv = issuesOf(() =>
      resolveSimulationSpec({ model: 'meta-llama/Llama-3.1-8B', gpu: 'rtx-4090', workload: gen }, opts()),
    );
    expect(kv.map((i) => i.path)).toEqual(['engine.maxModelLen']);
    expect(kv[0].message).toMatch(/model's default.*set engine.maxModelLen to at most \d+/);
    expect(() =>
      resolveSimulationSpec(
        { model: 'meta-llama/Llama-3.1-8B', gpu: 'rtx-4090', engine: { maxModelLen: 32768 }, workload: gen },
        opts(),
      ),
    ).not.toThrow();
    const order = issuesOf(() =>
      resolveSimulationSpec(
        {
          model: 'Qwen/Qwen3-14B',
          gpu: 'h100-sxm',
          engine: { maxNumSeqs: 512, maxNumBatchedTokens: 256 },
          workload: gen,
        },
        opts(),
      ),
    );
    expect(order.map((i) => i.path)).toEqual(['engine.maxNumBatchedTokens']);
  });

  it('names each request longer than maxModelLen', () => {
    const issues = issuesOf(() =>
      resolveSimulationSpec(
        { model: 'meta-llama/Llama-2-7b-hf', gpu: 'h100-sxm', workload: { trace: 'trace.csv' } },
        opts(),
      ),
    );
    expect(issues).toHaveLength(1);
    expect(issues[0].path).toBe('workload');
    expect(issues[0].message).toMatch(
      /request 10 \(request_id "too-long"\).*4000 input \+ 200 output = 4200 tokens, more than engine.maxModelLen 4096/,
    );
    const many = issuesOf(() =>
      resolveSimulationSpec(
        {
          model: 'meta-llama/Llama-2-7b-hf',
          gpu: 'h100-sxm',
          workload: { ...gen, numRequests: 30, inputTokens: { fixed: 4096 } },
        },
        opts(),
      ),
    );
    expect(many).toHaveLength(21);
    expect(many[20].message).toMatch(/and 10 more requests/);
  });

  it('merges workload issues with the rest of the spec', () => {
    const issues = issuesOf(() =>
      resolveSimulationSpec(
        { model: 'Qwen/Qwen3-14B', gpu: 'h800', workload: { trace: 'missing.csv' }, seed: 1.5 },
        opts(),
      ),
    );
    const paths = issues.map((i) => i.path);
    expect(paths).toContain('seed');
    expect(paths).toContain('gpu');
    expect(paths.some((p) => p.includes('missing.csv') || p.startsWith('workload'))).toBe(true);
  });

  it('validates fusion profiles and calibration files', () => {
    const issues = issuesOf(() =>
      resolveSimulationSpec(
        {
          model: 'Qwen/Qwen3-14B',
          gpu: 'h100-sxm',
          workload: gen,
          fusion: { mode: 'cff', profile: 'bad-profile.json' },
          calibration: 'bad-profile.json',
        },
        opts(),
      ),
    );
    const paths = issues.map((i) => i.path);
    expect(paths).toEqual(
      expect.arrayContaining([
        'fusion.profile (bad-profile.json).format',
        'fusion.profile (bad-profile.json).source',
        'fusion.profile (bad-profile.json).fusedLayers[0]',
        'fusion.profile (bad-profile.json).points[0].threshold',
        'fusion.profile (bad-profile.json).points[0].survivingFraction',
        'calibration (bad-profile.json).format',
        'calibration (bad-profile.json).coefficients',
      ]),
    );
    const mode = issuesOf(() =>
      resolveSimulationSpec(
        {
          model: 'Qwen/Qwen3-14B',
          gpu: 'h100-sxm',
          workload: gen,
          fusion: { mode: 'cff', profile: 'profile.json' },
        },
        opts(),
      ),
    );
    expect(mode.map((i) => i.message)).toEqual([
      expect.stringMatching(/measured for mode bff, but fusion.mode is cff/),
    ]);
    const missing = issuesOf(() =>
      resolveSimulationSpec(
        { model: 'Qwen/Qwen3-14B', gpu: 'h100-sxm', workload: gen, fusion: { profile: 'nope.json' } },
        opts(),
      ),
    );
    expect(missing[0]).toEqual({ path: 'fusion.profile', message: 'nope.json does not exist' });
  });

  it('accepts a built-in calibration by name and rejects incomplete coefficients', () => {
    expect(
      resolveSimulationSpec(
        { model: 'Qwen/Qwen3-14B', gpu: 'h100-sxm', workload: gen, calibration: 'default' },
        opts(),
      ).timeModel,
    ).toBe(DEFAULT_TIME_MODEL);
    const c = coefficients();
    delete c.memEfficiency;
    c.bogus = 1;
    fs.writeFileSync(
      path.join(dir, 'partial.json'),
      JSON.stringify({ format: 'kvplan-gpu-profile/1', gpu: 'l4', coefficients: c }),
    );
    const issues = issuesOf(() =>
      resolveSimulationSpec(
        { model: 'Qwen/Qwen3-14B', gpu: 'h100-sxm', workload: gen, calibration: 'partial.json' },
        opts(),
      ),
    );
    expect(issues.map((i) => i.path).sort()).toEqual(
      [
        'calibration (partial.json).coefficients.bogus',
        'calibration (partial.json).coefficients.memEfficiency',
      ].sort(),
    );
  });

  it("reads a profile's per-GPU serving factors and names a bad one", () => {
    const ok = { ...coefficients(), servingFactors: { 'h100-sxm': { factor: 0.93, runs: 4 } } };
    const spec = resolveSimulationSpec(
      {
        model: 'Qwen/Qwen3-14B',
        gpu: 'h100-sxm',
        workload: gen,
        calibration: { format: 'kvplan-gpu-profile/1', gpu: 'h100-sxm', coefficients: ok },
      },
      opts(),
    );
    expect(spec.timeModel.servingFactors).toEqual({ 'h100-sxm': { factor: 0.93, runs: 4 } });
    const bad = { ...coefficients(), servingFactors: { 'h100-sxm': { factor: 0, runs: 1.5, x: 1 } } };
    const issues = issuesOf(() =>
      resolveSimulationSpec(
        {
          model: 'Qwen/Qwen3-14B',
          gpu: 'h100-sxm',
          workload: gen,
          calibration: { format: 'kvplan-gpu-profile/1', gpu: 'h100-sxm', coefficients: bad },
        },
        opts(),
      ),
    );
    expect(issues.map((i) => i.path).sort()).toEqual(
      [
        'calibration.coefficients.servingFactors.h100-sxm.factor',
        'calibration.coefficients.servingFactors.h100-sxm.runs',
        'calibration.coefficients.servingFactors.h100-sxm.x',
      ].sort(),
    );
  });
});

describe('a stored fusion profile given as an object', () => {
  const base = {
    model: 'meta-llama/Llama-3.1-8B',
    gpu: 'h100-sxm',
    workload: {
      arrival: { process: 'poisson', rate: 1 },
      numRequests: 5,
      inputTokens: { fixed: 64 },
      outputTokens: { fixed: 8 },
    },
    fusion: { mode: 'bff', threshold: 0.8 },
  };
  const profile = {
    format: 'kvplan-fusion-profile/1',
    mode: 'bff',
    source: 'kv-sample',
    model: null,
    numLayers: 32,
    fusedLayers: [2, 3],
    blockSize: 16,
    points: [],
    rateDistortion: { model: 'poisson-logistic/1', layers: [{ layer: 2, pMax: 0.1, t0: 0.7, width: 0.05 }] },
    accuracy: null,
  };
  it('is validated and used without a file', () => {
    const r = resolveSimulationSpec(base, { baseDir: '.', fusionProfile: profile });
    expect(r.fusion?.profile?.source).toBe('kv-sample');
    expect(r.fusion?.threshold).toBe(0.8);
  });
  it('is refused with every issue, or when its mode differs', () => {
    expect(() =>
      resolveSimulationSpec(base, { baseDir: '.', fusionProfile: { ...profile, numLayers: 0 } }),
    ).toThrow(/fusion\.profile\.numLayers/);
    expect(() =>
      resolveSimulationSpec(base, { baseDir: '.', fusionProfile: { ...profile, mode: 'cff' } }),
    ).toThrow(/measured for mode cff/);
  });
});
