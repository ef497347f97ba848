import * as fs from 'node:fs';
import * as path from 'node:path';
import { InputError } from '@kvplan/core';
import { curveError } from '../src/calibration/kernel-fit';
import { MEASURED_MOE_CURVES, moeCurveFor, moeSamples } from '../src/hardware/moe-curves';
import { describe, expect, it } from 'vitest';
import { simulate } from '../src/engine/simulation';
import { findGpuPreset } from '../src/hardware/gpus';
import { defaultTopology } from '../src/hardware/topology';
import { resolveModel } from '../src/model/resolve';
import { resolveSimulationSpec } from '../src/simulation-spec';
import { dispatchBytes, loadImbalance, probMissesRank, remoteRanksPerToken } from '../src/time/moe';
import { DEFAULT_TIME_MODEL } from '../src/time/profiles';
import { StepTimeModel } from '../src/time/step-time';
import { workloadOf } from './helpers';

const MOE = 'Qwen/Qwen3-30B-A3B';

describe('top-k routing arithmetic (hand-computed)', () => {
  it('all-to-all volume: 8 experts, top-2, 2 ranks of 4 experts', () => {
    // A token misses the other rank's 4 experts with probability C(4,2)/C(8,2) = 6/28 = 3/14.
    expect(probMissesRank(8, 2, 2)).toBeCloseTo(3 / 14, 12);
    expect(remoteRanksPerToken(8, 2, 2)).toBeCloseTo(11 / 14, 12);
    // 100 tokens of hidden 4096 at 2 bytes: 100 x 8192 x 11/14 bytes leave the rank (and come back).
    expect(dispatchBytes(8, 2, 2, 100, 8192)).toBeCloseTo((100 * 8192 * 11) / 14, 6);
    // 4 ranks of 2 experts: each other rank is missed with C(6,2)/C(8,2) = 15/28.
    expect(remoteRanksPerToken(8, 2, 4)).toBeCloseTo(3 * (13 / 28), 12);
    // One rank: nothing leaves it.
    expect(dispatchBytes(128, 8, 1, 100, 4096)).toBe(0);
    // Top-8 of 128 over 2 ranks reaches the other rank almost always.
    expect(remoteRanksPerToken(128, 8, 2)).toBeGreaterThan(0.99);
  });

  it('load imbalance: the skew times the spread of the busiest of G binomial loads, at most G', () => {
    // 1000 tokens x top-8 over 2 ranks: 1.1 x (1 + sqrt(2 ln 2 x 1 / 8000)).
    expect(loadImbalance(2, 1000, 8, 1.1)).toBeCloseTo(1.1 * (1 + Math.sqrt((2 * Math.log(2)) / 8000)), 12);
    expect(loadImbalance(2, 1, 1, 1.9)).toBe(2);
    expect(loadImbalance(1, 10, 8, 1.5)).toBe(1);
    expect(loadImbalance(8, 10, 8, 0)).toBe(1);
    // More tokens, smaller spread.
    expect(loadImbalance(8, 64, 8, 1)).toBeGreaterThan(loadImbalance(8, 4096, 8, 1));
  });
});

describe('fused-MoE kernel curves (fitted on the measured kernels)', () => {
  const dir = path.resolve(__dirname, '../data/kernels');
  const rowsOf = (gpu: string) => {
    const lines = fs
      .readFileSync(path.join(dir, gpu, 'moe.csv'), 'utf8')
      .trim()
      .split('\n');
    const header = lines[0].split(',');
    return lines.slice(1).map((l) => Object.fromEntries(l.split(',').map((v, i) => [header[i], Number(v)])));
  };
  const presets: Record<string, string> = {
    h100_sxm: 'h100-sxm',
    h200_sxm: 'h200',
    b200_sxm: 'b200',
    rtx_pro_6000_server: 'rtx-pro-6000',
  };

  it('each measured GPU has a curve within 20 % (median) of its measurements, as the simulator evaluates it', () => {
    for (const [gpu, id] of Object.entries(presets)) {
      const preset = findGpuPreset(id)!;
      const curve = MEASURED_MOE_CURVES.get(id);
      expect(curve, gpu).toBeDefined();
      const e = curveError(
        curve!,
        moeSamples(rowsOf(gpu)),
        preset.memoryBandwidthGBps * 1e9,
        preset.bf16Tflops * 1e12,
      );
      expect(e.samples).toBeGreaterThan(1000);
      expect(e.median, gpu).toBeLessThan(0.2);
    }
    // Siblings borrow it; a GPU without measurements of its own or a sibling's has none.
    expect(moeCurveFor(findGpuPreset('h100-pcie')!)).toBe(MEASURED_MOE_CURVES.get('h100-sxm'));
    expect(moeCurveFor(findGpuPreset('l40s')!)).toBeNull();
  });

  it("Qwen3-30B-A3B's experts at EP2 on RTX PRO 6000: the step model within 20 % of the measured kernel at 64-8192 tokens", () => {
    const gpu = findGpuPreset('rtx-pro-6000')!;
    const model = resolveModel(MOE, { baseDir: '.', path: 'model' });
    const free = {
      ...defaultTopology(gpu),
      linkGBps: 1e9,
      linkLatencyUs: 0,
      collectives: 'topology' as const,
    };
    const coefficients = {
      ...DEFAULT_TIME_MODEL,
      allReduceLatencyS: 0,
      memEfficiency: 1,
      computeEfficiency: 1,
    };
    const ep2 = new StepTimeModel(model, gpu, {
      tensorParallel: 1,
      weightDtype: 'bfloat16',
      kvCacheDtype: 'auto',
      coefficients,
      dataParallel: 2,
      expertParallel: true,
      topology: free,
    });
    const rows = rowsOf('rtx_pro_6000_server').filter(
      (r) =>
        r.hidden_size === 2048 &&
        r.inter_size === 768 &&
        r.topk === 8 &&
        r.num_experts === 128 &&
        r.ep_size === 2 &&
        r.num_tokens >= 64 &&
        r.num_tokens <= 8192,
    );
    expect(rows.length).toBeGreaterThan(5);
    for (const r of rows) {
      const modelled = ep2.moeTime(r.num_tokens, 0) / model.numLayers;
      expect(Math.abs(modelled / (r.latency_us * 1e-6) - 1), `${r.num_tokens} tokens`).toBeLessThan(0.2);
    }
  });
});

describe('MoE layers shared by data-parallel ranks', () => {
  const gpu = findGpuPreset('h100-sxm')!;
  const model = resolveModel(MOE, { baseDir: '.', path: 'model' });
  const step = (opts: { dp: number; ep: boolean; fabric?: 'pcie5'; imbalance?: number }) =>
    new StepTimeModel(model, gpu, {
      tensorParallel: 1,
      weightDtype: 'bfloat16',
      kvCacheDtype: 'auto',
      coefficients: DEFAULT_TIME_MODEL,
      dataParallel: opts.dp,
      expertParallel: opts.ep,
      loadImbalance: opts.imbalance,
      topology: opts.fabric
        ? { ...defaultTopology(gpu), fabric: 'pcie5', linkGBps: 128 }
        : defaultTopology(gpu),
    });

  it('expert parallelism reads half the experts per GPU; dispatch costs more over PCIe; imbalance never helps', () => {
    const ep = step({ dp: 2, ep: true });
    expect(ep.sharedMoe).toBe(true);
    expect(ep.expertRanks).toBe(2);
    const pcie = step({ dp: 2, ep: true, fabric: 'pcie5' });
    expect(pcie.moeTime(512)).toBeGreaterThan(ep.moeTime(512));
    for (const t of [8, 256, 4096]) {
      expect(ep.moeTime(t, 1.5)).toBeGreaterThanOrEqual(ep.moeTime(t, 1.1));
      expect(ep.moeTime(t, 1.1)).toBeGreaterThanOrEqual(ep.moeTime(t, 0));
    }
    // A dense model or one engine without expert parallelism keeps its MoE inside the replica.
    expect(step({ dp: 1, ep: false }).sharedMoe).toBe(false);
  });

  const spec = (over: Record<string, unknown>) => ({
    model: MOE,
    gpu: 'h100-sxm',
    engine: { maxModelLen: 8192 },
    workload: {
      arrival: { process: 'constant', rate: 1000 },
      numRequests: 2,
      inputTokens: { uniform: [100, 2000] },
      outputTokens: { fixed: 4 },
    },
    ...over,
  });

  it('ranks step in lockstep: one step for the whole group, as long as its slowest rank', () => {
    const shared = resolveSimulationSpec(spec({ dataParallel: 2, expertParallel: true }), { baseDir: '.' });
    // Two requests at once, one per rank: their prefills end at the same group step.
    const together = simulate({
      ...shared,
      workload: workloadOf([
        { t: 0, in: 4000, out: 4 },
        { t: 0, in: 50, out: 4 },
      ]),
    });
    expect(together.requests.replica[0]).not.toBe(together.requests.replica[1]);
    expect(together.requests.firstTokenS[0]).toBe(together.requests.firstTokenS[1]);
    expect(together.result.meta.gpus).toBe(2);
    expect(together.result.meta.moe).toMatchObject({
      expert_parallel: true,
      expert_ranks: 2,
      experts_per_rank: 64,
    });
    // The short one arriving 1 ms later waits for the long prefill's step, on its own idle rank.
    const later = workloadOf([
      { t: 0, in: 4000, out: 4 },
      { t: 0.001, in: 50, out: 4 },
    ]);
    const lock = simulate({ ...shared, workload: later });
    expect(lock.requests.firstTokenS[1]).toBeGreaterThan(lock.requests.firstTokenS[0]);
    // As two independent replicas it starts at once and is first.
    const apart = simulate({
      ...shared,
      dataParallel: 1,
      expertParallel: false,
      replicas: 2,
      workload: later,
    });
    expect(apart.requests.firstTokenS[1]).toBeLessThan(apart.requests.firstTokenS[0]);
    expect(apart.result.meta.moe).toBeUndefined();
  });

  it('sharing the experts over the ranks leaves more memory for the KV cache', () => {
    const one = resolveSimulationSpec(spec({}), { baseDir: '.' }).engine.numGpuBlocks;
    const dp2 = resolveSimulationSpec(spec({ dataParallel: 2 }), { baseDir: '.' }).engine.numGpuBlocks;
    const ep2 = resolveSimulationSpec(spec({ dataParallel: 2, expertParallel: true }), { baseDir: '.' });
    expect(dp2).toBeGreaterThan(one);
    expect(ep2.engine.numGpuBlocks).toBe(dp2);
  });

  const issues = (s: unknown) => {
    try {
      resolveSimulationSpec(s, { baseDir: '.' });
    } catch (err) {
      if (err instanceof InputError) return err.issues;
      throw err;
    }
    return [];
  };

  it('names the field: EP that does not divide the experts, EP on a dense model, DP x TP beyond the topology', () => {
    expect(issues(spec({ dataParallel: 3, expertParallel: true }))).toEqual([
      expect.objectContaining({ path: 'expertParallel', message: expect.stringContaining('128 experts') }),
    ]);
    expect(issues(spec({ model: 'meta-llama/Llama-3.1-8B', expertParallel: true }))).toEqual([
      expect.objectContaining({ path: 'expertParallel', message: expect.stringContaining('dense') }),
    ]);
    expect(issues(spec({ tensorParallel: 4, dataParallel: 4, topology: { nodes: 1 } }))).toEqual([
      expect.objectContaining({ path: 'dataParallel', message: expect.stringContaining('16 GPUs') }),
    ]);
    expect(
      issues(spec({ moe: { loadImbalance: 0.5, skew: 1 } }))
        .map((i) => i.path)
        .sort(),
    ).toEqual(['moe.loadImbalance', 'moe.skew']);
    expect(
      issues(spec({ dataParallel: 0, expertParallel: 'yes' }))
        .map((i) => i.path)
        .sort(),
    ).toEqual(['dataParallel', 'expertParallel']);
  });
});
