import { describe, expect, it } from 'vitest';
import {
  DEFAULT_TIME_MODEL,
  InputError,
  KERNEL_SIBLINGS,
  MEASURED_KERNEL_CURVES,
  StepTimeModel,
  emptyStepWork,
  findGpuPreset,
  fitKernelCurve,
  interpolate,
  kernelCalibrationFor,
  kernelTime,
  readKernelCsv,
  CompiledCurve,
  decodeAttentionCurve,
  resolveGpu,
  resolveModel,
  type GpuSpec,
  type KernelCurve,
} from '../src';

/** A 3 x 2 table: x knots 2^0, 2^2, 2^4; y knots 2^0, 2^1. */
const CURVE: KernelCurve = {
  launchS: 2e-6,
  log2x: [0, 2, 4],
  log2y: [0, 1],
  mem: [0.2, 0.4, 0.8, 0.3, 0.5, 0.9],
  compute: [0.1, 0.5, 0.7, 0.2, 0.6, 0.8],
};

describe('kernel curve lookups (hand-computed points)', () => {
  it('returns the knot values on knots and interpolates linearly in log2 between them', () => {
    expect(interpolate(CURVE, CURVE.mem, 2, 0)).toBeCloseTo(0.4, 12);
    expect(interpolate(CURVE, CURVE.mem, 4, 1)).toBeCloseTo(0.9, 12);
    // x = 2^1 lies halfway between knots 0 and 2: (0.2 + 0.4) / 2.
    expect(interpolate(CURVE, CURVE.mem, 1, 0)).toBeCloseTo(0.3, 12);
    // x = 2^3, y = 2^0.5: rows give 0.6 and 0.7, halfway between them 0.65.
    expect(interpolate(CURVE, CURVE.mem, 3, 0.5)).toBeCloseTo(0.65, 12);
  });

  it('clamps outside the knots', () => {
    expect(interpolate(CURVE, CURVE.compute, -3, -1)).toBe(0.1);
    expect(interpolate(CURVE, CURVE.compute, 10, 5)).toBe(0.8);
  });

  it('times a call as launch plus the larger of memory and compute at the looked-up fractions', () => {
    // x = 4 (knot 2), y = 1: mem 0.4, compute 0.5 of 1e12 B/s and 1e15 FLOP/s.
    const memBound = kernelTime(CURVE, 4, 1, 4e6, 1e9, 1e12, 1e15);
    expect(memBound).toBeCloseTo(2e-6 + 4e6 / (1e12 * 0.4), 15);
    const computeBound = kernelTime(CURVE, 4, 1, 1e3, 1e12, 1e12, 1e15);
    expect(computeBound).toBeCloseTo(2e-6 + 1e12 / (1e15 * 0.5), 15);
  });

  it('fits back the fractions and launch time of data generated from a known curve', () => {
    const truth: KernelCurve = {
      launchS: 0,
      log2x: [4, 8],
      log2y: [0],
      mem: [0.5, 0.8],
      compute: [0.3, 0.7],
    };
    const samples = [16, 256].flatMap((x) =>
      [1e6, 1e8, 1e10].map((bytes) => {
        const flops = bytes * 200;
        return { x, y: 1, bytes, flops, seconds: kernelTime(truth, x, 1, bytes, flops, 1e12, 1e14) };
      }),
    );
    const fit = fitKernelCurve(samples, 1e12, 1e14);
    for (const s of samples)
      expect(Math.abs(kernelTime(fit, s.x, 1, s.bytes, s.flops, 1e12, 1e14) / s.seconds - 1)).toBeLessThan(
        0.05,
      );
  });
});

/** The x-by-y table of CURVE at z = 2^0, and the same table with every fraction doubled at z = 2^2. */
const CURVE3: KernelCurve = {
  launchS: 1e-6,
  log2x: [0, 2, 4],
  log2y: [0, 1],
  log2z: [0, 2],
  mem: [...CURVE.mem, ...CURVE.mem.map((v) => 2 * v)],
  compute: [...CURVE.compute, ...CURVE.compute.map((v) => 2 * v)],
};

describe('kernel curve lookups with a third axis (KV heads per GPU)', () => {
  it('returns each slice on its z knot and interpolates linearly in log2 z between slices', () => {
    expect(interpolate(CURVE3, CURVE3.mem, 2, 0, 0)).toBeCloseTo(0.4, 12);
    expect(interpolate(CURVE3, CURVE3.mem, 2, 0, 2)).toBeCloseTo(0.8, 12);
    // z = 2^1 is halfway between the slices: (0.4 + 0.8) / 2.
    expect(interpolate(CURVE3, CURVE3.mem, 2, 0, 1)).toBeCloseTo(0.6, 12);
    // x = 2^3, y = 2^0.5, z = 2^1: 0.65 in the first slice, 1.3 in the second, 0.975 between.
    expect(interpolate(CURVE3, CURVE3.mem, 3, 0.5, 1)).toBeCloseTo(0.975, 12);
    // Clamped at the outer slices.
    expect(interpolate(CURVE3, CURVE3.compute, 4, 1, 5)).toBeCloseTo(1.6, 12);
    expect(interpolate(CURVE3, CURVE3.compute, 4, 1, -1)).toBeCloseTo(0.8, 12);
  });

  it('a two-feature curve ignores z', () => {
    expect(interpolate(CURVE, CURVE.mem, 3, 0.5, 2)).toBeCloseTo(0.65, 12);
  });

  it('times a call at the slice of its z, compiled or not', () => {
    // x = 4, y = 1, z = 4: mem 0.8 of 1e12 B/s.
    expect(kernelTime(CURVE3, 4, 1, 4e6, 0, 1e12, 1e15, 4)).toBeCloseTo(1e-6 + 4e6 / (1e12 * 0.8), 15);
    // z = 2: mem 0.6.
    const compiled = new CompiledCurve(CURVE3, 2);
    expect(compiled.time(4, 1, 4e6, 0, 1e12, 1e15)).toBeCloseTo(4e6 / (1e12 * 0.6), 15);
    // Between x knots on the compiled octave grid: x = 8 is halfway from 4 to 16 in log2.
    expect(compiled.time(8, 1, 4e6, 0, 1e12, 1e15)).toBeCloseTo(4e6 / ((1e12 * (0.6 + 1.2)) / 2), 15);
  });

  it('fits back a table whose fraction depends on z', () => {
    const truth: KernelCurve = {
      launchS: 0,
      log2x: [4, 8],
      log2y: [0],
      log2z: [0, 3],
      mem: [0.2, 0.4, 0.6, 0.8],
      compute: [1, 1, 1, 1],
    };
    const samples = [1, 8].flatMap((z) =>
      [16, 256].flatMap((x) =>
        [1e6, 1e8].map((bytes) => ({
          x,
          y: 1,
          z,
          bytes,
          flops: 0,
          seconds: kernelTime(truth, x, 1, bytes, 0, 1e12, 1e14, z),
        })),
      ),
    );
    const fit = fitKernelCurve(samples, 1e12, 1e14, 'mem');
    expect(fit.log2z).toEqual([0, 3]);
    for (const s of samples)
      expect(Math.abs(kernelTime(fit, s.x, 1, s.bytes, 0, 1e12, 1e14, s.z) / s.seconds - 1)).toBeLessThan(
        0.05,
      );
  });

  it('a multi-head model decodes on the multi-head curve where the GPU has one', () => {
    const a100 = MEASURED_KERNEL_CURVES.get('a100-80gb')!;
    expect(a100.mhaGenerationAttention).toBeDefined();
    expect(decodeAttentionCurve(a100, 32, 32)).toBe(a100.mhaGenerationAttention);
    expect(decodeAttentionCurve(a100, 32, 8)).toBe(a100.generationAttention);
    const { mhaGenerationAttention: _, ...withoutMha } = a100;
    expect(decodeAttentionCurve(withoutMha, 32, 32)).toBe(a100.generationAttention);
  });

  it('Llama-2-7B at TP4 on A100 (8 heads and 8 KV heads per GPU): decode attention grows with the context as measured', () => {
    // AIConfigurator's A100 vLLM 0.14.0 decode attention, batch 1, 8 heads, 8 KV heads, head dim
    // 128: 10.907 us at 2 tokens cached, 385.445 us at 16,384 (generation_attention.csv).
    const model = resolveModel('meta-llama/Llama-2-7b-hf', { baseDir: '.', path: 'model' });
    const asMeasured = {
      ...DEFAULT_TIME_MODEL,
      memEfficiency: 1,
      computeEfficiency: 1,
      attentionEfficiency: 1,
    };
    const m = new StepTimeModel(model, findGpuPreset('a100-80gb')!, {
      tensorParallel: 4,
      weightDtype: 'bfloat16',
      kvCacheDtype: 'auto',
      coefficients: asMeasured,
    });
    const step = (cached: number) =>
      m.stepTime({
        ...emptyStepWork(),
        numReqs: 1,
        newTokens: 1,
        numSampled: 1,
        attnPairs: cached,
        kvReadTokens: cached - 1,
      });
    const measured = model.numLayers * (385.445 - 10.907) * 1e-6;
    expect(Math.abs((step(16384) - step(2)) / measured - 1)).toBeLessThan(0.1);
  });
});

describe('which kernel data a GPU uses', () => {
  it('marks the measured presets kernel-measured', () => {
    for (const id of ['h100-sxm', 'a100-80gb', 'h200', 'b200', 'l40s', 'rtx-pro-6000'])
      expect(kernelCalibrationFor(findGpuPreset(id)!).source).toBe('kernel-measured');
    expect(MEASURED_KERNEL_CURVES.size).toBe(6);
  });

  it('scales the named siblings and says from which', () => {
    expect(kernelCalibrationFor(findGpuPreset('l4')!).source).toBe('scaled from l40s');
    expect(kernelCalibrationFor(findGpuPreset('h100-pcie')!).source).toBe('scaled from h100-sxm');
    expect(kernelCalibrationFor(findGpuPreset('a100-40gb')!).source).toBe('scaled from a100-80gb');
    expect(kernelCalibrationFor(findGpuPreset('rtx-4090')!).source).toBe('scaled from l40s');
    expect(KERNEL_SIBLINGS.l40).toBe('l40s');
  });

  it('falls back to datasheet only for an inline GPU', () => {
    const g = resolveGpu(
      { name: 'My Card', memoryGiB: 40, memoryBandwidthGBps: 1000, bf16Tflops: 300 },
      { baseDir: '.', path: 'gpu' },
    );
    expect(kernelCalibrationFor(g).source).toBe('datasheet only');
  });

  it('scales a sibling by datasheet bandwidth: the same decode step on an L4 takes the L40S time x 864 / 300 in its memory-bound part', () => {
    const model = resolveModel('meta-llama/Llama-3.1-8B', { baseDir: '.', path: 'model' });
    const noEngine = {
      ...DEFAULT_TIME_MODEL,
      stepOverheadS: 0,
      layerOverheadS: 0,
      requestOverheadS: 0,
      prefillChunkOverheadS: 0,
      sampleOverheadS: 0,
      tokenOverheadS: 0,
      kernelLaunchScale: 0,
    };
    const at = (gpu: GpuSpec) =>
      new StepTimeModel(model, gpu, {
        tensorParallel: 1,
        weightDtype: 'bfloat16',
        kvCacheDtype: 'auto',
        coefficients: noEngine,
      }).stepTime({
        ...emptyStepWork(),
        numReqs: 1,
        newTokens: 1,
        numSampled: 1,
        attnPairs: 1001,
        kvReadTokens: 1000,
      });
    const l40s = findGpuPreset('l40s')!;
    const l4 = findGpuPreset('l4')!;
    // One token: every kernel is memory bound, so the time scales with 1 / bandwidth exactly.
    expect(at(l4) / at(l40s)).toBeCloseTo(l40s.memoryBandwidthGBps / l4.memoryBandwidthGBps, 6);
  });
});

describe('kernel measurement files', () => {
  it('reads the columns it needs in any order', () => {
    const rows = readKernelCsv('k,latency_us,m,n,extra\n64,12.5,1,4096,x\n', 'gemm', 'gemm.csv');
    expect(rows).toEqual([{ m: 1, n: 4096, k: 64, latency_us: 12.5 }]);
  });

  it('names a missing KV-head column of an attention file', () => {
    expect(() =>
      readKernelCsv(
        'batch,kv_len,num_heads,head_dim,latency_us\n1,2,8,128,12\n',
        'generationAttention',
        'a100_sxm/generation_attention.csv',
      ),
    ).toThrow(/a100_sxm\/generation_attention.csv: missing column num_kv_heads \(generationAttention needs/);
  });

  it('names the file and every missing column, and bad cells by line', () => {
    expect(() => readKernelCsv('m,n,latency\n1,2,3\n', 'gemm', 'h100/gemm.csv')).toThrow(
      /h100\/gemm.csv: missing columns k, latency_us/,
    );
    try {
      readKernelCsv('num_gpus,message_bytes,latency_us\n2,abc,1\n2,4,-1\n', 'allReduce', 'ar.csv');
      expect.unreachable();
    } catch (err) {
      expect(err).toBeInstanceOf(InputError);
      expect((err as InputError).issues.map((i) => i.path)).toEqual(['ar.csv:2', 'ar.csv:3']);
    }
  });
});
