import * as fs from 'node:fs';
import * as path from 'node:path';
import { InputError } from '@kvplan/core';
import { fitMoeCurve, moeCurveError, moeHoldoutShape, moeSamples } from '../src/calibration/moe-fit';
import {
  CompiledMoeCurve,
  MEASURED_MOE_CURVES,
  moeCurveFor,
  moeRouteBytes,
  type MoeCurve,
} from '../src/hardware/moe-curves';
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

describe('fused-MoE curve lookups (hand-computed points)', () => {
  // Experts at half the bandwidth and half the peak everywhere; the batch's routes at 0.2 of the
  // bandwidth from 4 routes (2^2) down, 0.6 from 16 (2^4) up.
  const curve: MoeCurve = {
    experts: {
      launchS: 10e-6,
      log2x: [0, 1],
      log2y: [0, 1],
      mem: [0.5, 0.5, 0.5, 0.5],
      compute: [0.5, 0.5, 0.5, 0.5],
    },
    routes: { launchS: 0, log2x: [2, 4], log2y: [0], mem: [0.2, 0.6], compute: [1, 1] },
  };
  const c = new CompiledMoeCurve(curve);
  const at = (routes: number) => c.time(1, 1, 1e6, 0, routes, 1e6, 1e12, 1e15);

  it('adds the routes term, interpolated on octaves of the batch routes, to the experts term', () => {
    expect(c.launchS).toBe(10e-6);
    // 1 MB of weights at 0.5 TB/s (2 us) + 1 MB of route traffic at 0.2 TB/s (5 us).
    expect(at(4)).toBeCloseTo(2e-6 + 5e-6, 15);
    // 8 routes: halfway in log2 between the knots, 0.4.
    expect(at(8)).toBeCloseTo(2e-6 + 2.5e-6, 15);
    // 12 routes: half an octave above 8 (linear in the routes within it), 0.5.
    expect(at(12)).toBeCloseTo(2e-6 + 2e-6, 15);
    // Clamped outside the knots.
    expect(at(1)).toBeCloseTo(2e-6 + 5e-6, 15);
    expect(at(1000)).toBeCloseTo(2e-6 + 1e6 / 0.6e12, 15);
    // Compute-bound experts: 1 GFLOP at 0.5 PFLOP/s (2 us) over 1 MB at 0.5 TB/s (2 us): the larger.
    expect(c.time(1, 1, 0.5e6, 1e9, 4, 1e6, 1e12, 1e15)).toBeCloseTo(2e-6 + 5e-6, 15);
  });

  it("reads the experts' table at the expert size it is compiled for, linear in log2 between slices", () => {
    // Memory fraction 0.5 for experts of 2^20 elements (hidden x inter), 0.25 for 2^22; routes as above.
    const sized: MoeCurve = {
      experts: { ...curve.experts, log2z: [20, 22], mem: [0.5, 0.5, 0.5, 0.5, 0.25, 0.25, 0.25, 0.25] },
      routes: curve.routes,
    };
    const weights = (size: number) => new CompiledMoeCurve(sized, size).time(1, 1, 1e6, 0, 4, 0, 1e12, 1e15);
    expect(weights(2 ** 20)).toBeCloseTo(1e6 / 0.5e12, 15);
    expect(weights(2 ** 22)).toBeCloseTo(1e6 / 0.25e12, 15);
    // 2^21: halfway in log2, 0.375.
    expect(weights(2 ** 21)).toBeCloseTo(1e6 / 0.375e12, 15);
    // Clamped beyond the slices; a curve without the axis ignores the size.
    expect(weights(2 ** 30)).toBeCloseTo(1e6 / 0.25e12, 15);
    expect(new CompiledMoeCurve(curve, 2 ** 30).time(1, 1, 1e6, 0, 4, 0, 1e12, 1e15)).toBeCloseTo(2e-6, 15);
  });

  it('counts each route as 6 x inter + 2 x hidden BF16 activations', () => {
    expect(moeRouteBytes(2048, 768)).toBe(2 * (6 * 768 + 2 * 2048));
    // 64 tokens of Qwen3-30B-A3B's experts (2048 x 768, top-8 of 128) at EP8: 64 routes to this
    // rank's 16 experts (4 each); the whole batch's 512 routes move their activations.
    const [s] = moeSamples([
      {
        num_tokens: 64,
        hidden_size: 2048,
        inter_size: 768,
        topk: 8,
        num_experts: 128,
        ep_size: 8,
        latency_us: 50,
      },
    ]);
    expect(s).toEqual({
      x: 4,
      y: 16,
      bytes: 2 * 16 * 3 * 2048 * 768,
      flops: 2 * 3 * 2048 * 768 * 64,
      routes: 512,
      routeBytes: 512 * 17408,
      size: 2048 * 768,
      seconds: 50 * 1e-6,
    });
  });

  it('fits back the launch time and fractions of calls generated from known ones', () => {
    const gpu = findGpuPreset('h100-sxm')!;
    const bw = gpu.memoryBandwidthGBps * 1e9;
    const peak = gpu.bf16Tflops * 1e12;
    const rows = [
      [2048, 768, 8, 128],
      [4096, 14336, 2, 8],
      [7168, 2048, 8, 256],
    ].flatMap(([hidden_size, inter_size, topk, num_experts]) =>
      [1, 4, 16, 64, 256, 1024, 4096, 16384].flatMap((num_tokens) =>
        [1, 2, 8].map((ep_size) => ({
          num_tokens,
          hidden_size,
          inter_size,
          topk,
          num_experts,
          ep_size,
          latency_us: 0,
        })),
      ),
    );
    // Truth: 20 us launch, weights at 0.6 of the bandwidth, FLOPs at 0.5 of the peak, routes at 0.3.
    for (const [i, s] of moeSamples(rows).entries())
      rows[i].latency_us =
        1e6 * (20e-6 + Math.max(s.bytes / (bw * 0.6), s.flops / (peak * 0.5)) + s.routeBytes / (bw * 0.3));
    const { moe, error } = fitMoeCurve(rows, gpu);
    expect(error.mean).toBeLessThan(0.02);
    expect(moe.experts.launchS).toBeGreaterThan(15e-6);
    expect(moe.experts.launchS).toBeLessThan(21e-6);
    // Where routes dominate (16k tokens at EP8 of 128 experts), their fraction is the truth's.
    const big = moe.routes.mem[moe.routes.log2x.indexOf(17)];
    expect(big).toBeGreaterThan(0.27);
    expect(big).toBeLessThan(0.33);
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

  it('each measured GPU has a curve within 8 % (mean) of its measurements, as the simulator evaluates it', () => {
    for (const [gpu, id] of Object.entries(presets)) {
      const preset = findGpuPreset(id)!;
      const curve = MEASURED_MOE_CURVES.get(id);
      expect(curve, gpu).toBeDefined();
      const e = moeCurveError(
        curve!,
        moeSamples(rowsOf(gpu)),
        preset.memoryBandwidthGBps * 1e9,
        preset.bf16Tflops * 1e12,
      );
      expect(e.samples).toBeGreaterThan(1000);
      expect(e.mean, gpu).toBeLessThan(0.08);
    }
    // Siblings borrow it; a GPU without measurements of its own or a sibling's has none.
    expect(moeCurveFor(findGpuPreset('h100-pcie')!)).toBe(MEASURED_MOE_CURVES.get('h100-sxm'));
    expect(moeCurveFor(findGpuPreset('l40s')!)).toBeNull();
  });

  it('holds out every fifth shape with all its token counts', () => {
    const rows = rowsOf('h100_sxm');
    const held = moeHoldoutShape(rows);
    const heldRows = rows.filter(held);
    expect(heldRows.length / rows.length).toBeGreaterThan(0.15);
    expect(heldRows.length / rows.length).toBeLessThan(0.25);
    // A shape is in or out as a whole: every held-out shape keeps its 27 token counts.
    const counts = new Map<string, number>();
    for (const r of heldRows) {
      const k = [r.hidden_size, r.inter_size, r.topk, r.num_experts, r.ep_size].join('/');
      counts.set(k, (counts.get(k) ?? 0) + 1);
    }
    for (const [k, n] of counts) expect(n % 27, k).toBe(0);
  });

  it("Qwen3-30B-A3B's experts at EP2 and EP8 on RTX PRO 6000: the step model within 15 % of the measured kernel at 64-8192 tokens (EP8: mostly the batch's route traffic)", () => {
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
      // The kernel alone: no serving-level factor on top.
      servingFactors: undefined,
    };
    for (const ep of [2, 8]) {
      const step = new StepTimeModel(model, gpu, {
        tensorParallel: 1,
        weightDtype: 'bfloat16',
        kvCacheDtype: 'auto',
        coefficients,
        dataParallel: ep,
        expertParallel: true,
        topology: free,
      });
      const rows = rowsOf('rtx_pro_6000_server').filter(
        (r) =>
          r.hidden_size === 2048 &&
          r.inter_size === 768 &&
          r.topk === 8 &&
          r.num_experts === 128 &&
          r.ep_size === ep &&
          r.num_tokens >= 64 &&
          r.num_tokens <= 8192,
      );
      expect(rows.length).toBeGreaterThan(5);
      for (const r of rows) {
        const modelled = step.moeTime(r.num_tokens, 0) / model.numLayers;
        expect(
          Math.abs(modelled / (r.latency_us * 1e-6) - 1),
          `EP${ep}, ${r.num_tokens} tokens`,
        ).toBeLessThan(0.15);
      }
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
