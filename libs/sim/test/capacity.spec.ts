import { describe, expect, it } from 'vitest';
import { Xoshiro128ss } from '@kvplan/core';
import {
  atRate,
  offeredRate,
  probeRate,
  searchMaxRate,
  searchMinReplicas,
  tile,
  markPareto,
  type SweepPoint,
} from '../src/capacity/search';
import { specOf, workloadOf, type Row } from './helpers';

function rows(n: number, rate: number): Row[] {
  const rng = new Xoshiro128ss(4);
  let t = 0;
  return Array.from({ length: n }, () => {
    t += rng.exponential(rate);
    return { t, in: rng.int(200, 1500), out: rng.int(50, 300) };
  });
}

const slo = { ttftMs: { p99: 400 }, tpotMs: { p99: 40 } };

describe('capacity search', () => {
  it('rescales and tiles workloads without changing the requests', () => {
    const w = workloadOf(rows(500, 5));
    expect(offeredRate(atRate(w, 20))).toBeCloseTo(20, 6);
    const t3 = tile(w, 3);
    expect(t3.n).toBe(1500);
    expect(offeredRate(t3)).toBeCloseTo(offeredRate(w), 1);
    expect(Array.from(t3.inputTokens.subarray(1000, 1500))).toEqual(Array.from(w.inputTokens));
  });

  it('brackets the highest rate: it meets the SLOs, 10 % more does not', () => {
    const spec = specOf(workloadOf(rows(600, 5)), { engine: { numGpuBlocks: 20000 } });
    const r = searchMaxRate(spec, slo, { relTolerance: 0.03 });
    expect(r.maxRate).toBeGreaterThan(0);
    expect(probeRate(spec, r.maxRate, slo).meets).toBe(true);
    expect(probeRate(spec, r.maxRate * 1.1, slo).meets).toBe(false);
  });

  it('finds the fewest replicas: n meets the target, n - 1 does not', () => {
    const spec = specOf(workloadOf(rows(400, 5)), { engine: { numGpuBlocks: 20000 } });
    const one = searchMaxRate(spec, slo, { relTolerance: 0.05 }).maxRate;
    const target = one * 3.5;
    const r = searchMinReplicas(spec, target, slo)!;
    expect(r.replicas).toBeGreaterThanOrEqual(2);
    const at = (n: number) =>
      probeRate({ ...spec, replicas: n, workload: tile(spec.workload, n) }, target, slo).meets;
    expect(at(r.replicas)).toBe(true);
    expect(at(r.replicas - 1)).toBe(false);
  });

  it('marks the Pareto front on rate per GPU, cost and fusion threshold', () => {
    const p = (label: string, rate: number, cost: number, t: number | null): SweepPoint => ({
      label,
      gpu: 'g',
      tensorParallel: 1,
      maxNumSeqs: 1,
      maxNumBatchedTokens: 1,
      fusionThreshold: t,
      maxRatePerReplica: rate,
      maxRatePerGpu: rate,
      outputTokensPerSecondPerGpu: 0,
      costPerMillionOutputTokensUsd: cost,
      replicasForTarget: null,
      gpusForTarget: null,
      pareto: false,
    });
    const pts = markPareto([
      p('a', 10, 1, null),
      p('b', 8, 2, null),
      p('c', 12, 0.9, 0.7),
      p('d', 11, 1, 0.6),
    ]);
    expect(pts.map((x) => x.pareto)).toEqual([true, false, true, false]);
  });

  it('never scores a missing cost as free, and keeps infeasible configurations off the front', () => {
    const p = (label: string, rate: number, cost: number | null) => ({
      label,
      gpu: 'x',
      tensorParallel: 1,
      maxNumSeqs: 1,
      maxNumBatchedTokens: 1,
      fusionThreshold: null,
      maxRatePerReplica: rate,
      maxRatePerGpu: rate,
      outputTokensPerSecondPerGpu: 0,
      costPerMillionOutputTokensUsd: cost,
      replicasForTarget: null,
      gpusForTarget: null,
      pareto: false,
    });
    // b has no price: it must not beat a's price by scoring 0; a is as fast and priced.
    expect(markPareto([p('a', 10, 1), p('b', 10, null)]).map((x) => x.pareto)).toEqual([true, false]);
    // c meets the SLOs at no rate: never on the front, even with the lowest cost.
    expect(markPareto([p('a', 10, 1), p('c', 0, 0.1)]).map((x) => x.pareto)).toEqual([true, false]);
  });
});
