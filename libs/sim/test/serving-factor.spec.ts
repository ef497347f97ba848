import { describe, expect, it } from 'vitest';
import {
  DEFAULT_TIME_MODEL,
  StepTimeModel,
  defaultTopology,
  emptyStepWork,
  findGpuPreset,
  simulate,
  type GpuSpec,
  type StepWork,
  type TimeModelCoefficients,
} from '../src';
import { LLAMA_8B, specOf, workloadOf } from './helpers';

const { servingFactors: _defaults, ...shared } = DEFAULT_TIME_MODEL;
const withFactor: TimeModelCoefficients = {
  ...shared,
  servingFactors: { 'h100-sxm': { factor: 1.25, runs: 2 } },
};

/** A step with prefill and decode work: every kernel-curve term is non-zero. */
const work: StepWork = {
  ...emptyStepWork(),
  numReqs: 5,
  newTokens: 260,
  numSampled: 5,
  attnPairs: 256 * 128 + 4 * 900,
  kvReadTokens: 256 + 4 * 900,
  prefillReqs: 1,
  prefillTokens: 256,
  prefillPairs: 256 * 128,
  prefillKvRead: 0,
};

/** The engine-side seconds of `work`, by hand from the coefficients. */
const engineS = (c: TimeModelCoefficients) =>
  c.stepOverheadS +
  LLAMA_8B.numLayers * c.layerOverheadS +
  work.numReqs * c.requestOverheadS +
  work.prefillReqs * c.prefillChunkOverheadS +
  work.numSampled * c.sampleOverheadS +
  work.newTokens * c.tokenOverheadS;

const stepTime = (gpu: GpuSpec, c: TimeModelCoefficients, tp = 2) =>
  new StepTimeModel(LLAMA_8B, gpu, {
    tensorParallel: tp,
    weightDtype: 'bfloat16',
    kvCacheDtype: 'auto',
    coefficients: c,
  }).stepTime(work);

describe('per-GPU serving factor', () => {
  it('multiplies the kernel-curve part of the step on the GPU it was fitted for', () => {
    const h100 = findGpuPreset('h100-sxm')!;
    const engine = engineS(shared);
    expect(engine).toBeGreaterThan(0);
    const plain = stepTime(h100, shared);
    const scaled = stepTime(h100, withFactor);
    expect(plain).toBeGreaterThan(engine);
    // Kernel part scaled by 1.25, engine-side costs unchanged.
    expect((scaled - engine) / (plain - engine)).toBeCloseTo(1.25, 9);
    expect(scaled).toBeCloseTo(engine + 1.25 * (plain - engine), 12);
  });

  it('leaves every other GPU, and a GPU with the same name but another id, alone', () => {
    for (const id of ['a100-80gb', 'h100-pcie', 'rtx-pro-6000']) {
      const gpu = findGpuPreset(id)!;
      expect(stepTime(gpu, withFactor)).toBe(stepTime(gpu, shared));
    }
    const inline = { ...findGpuPreset('h100-sxm')!, id: 'my-h100' };
    expect(stepTime(inline, withFactor)).toBe(stepTime(inline, shared));
  });

  it('is resolved once per model, not per step', () => {
    const m = new StepTimeModel(LLAMA_8B, findGpuPreset('h100-sxm')!, {
      tensorParallel: 1,
      weightDtype: 'bfloat16',
      kvCacheDtype: 'auto',
      coefficients: withFactor,
    });
    expect(m.servingFactor).toBe(1.25);
  });

  it('says in the result metadata whether the GPU has a factor and what it was fitted on', () => {
    const w = workloadOf([
      { t: 0, in: 200, out: 20 },
      { t: 0.1, in: 300, out: 10 },
    ]);
    const on = (id: string, c: TimeModelCoefficients) => {
      const gpu = findGpuPreset(id)!;
      return simulate(specOf(w, { gpu, topology: defaultTopology(gpu), timeModel: c })).result;
    };
    const fitted = on('h100-sxm', withFactor);
    expect(fitted.meta.serving_factor).toBe(1.25);
    expect(fitted.meta.serving_calibrated).toBe('serving factor 1.250 fitted on 2 runs');
    const none = on('a100-80gb', withFactor);
    expect(none.meta.serving_factor).toBe(1);
    expect(none.meta.serving_calibrated).toBe('no serving factor (1): shared serving costs only');
    // The scaled kernels make the same requests slower on the GPU with the factor.
    expect(fitted.mean_e2el_ms).toBeGreaterThan(on('h100-sxm', shared).mean_e2el_ms);
  });

  it('the default profile has factors only for GPUs with held-out runs to check them on', () => {
    const f = DEFAULT_TIME_MODEL.servingFactors ?? {};
    expect(Object.keys(f).sort()).toEqual(['h100-sxm', 'rtx-pro-6000']);
    expect(f['rtx-4090']).toBeUndefined();
    for (const v of Object.values(f)) {
      expect(v.factor).toBeGreaterThan(0.5);
      expect(v.factor).toBeLessThan(2);
      expect(Number.isInteger(v.runs) && v.runs >= 1).toBe(true);
    }
  });
});
