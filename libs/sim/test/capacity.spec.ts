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
  requestsToMeasure,
  MIN_MEASURING_REQUESTS,
} from '../src/capacity/search';
import { evaluateCapacity, searchMaxRateMeasured, verifyReplicas } from '../src/capacity/evaluate';
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

/** A sweep row for Pareto tests: feasible when it serves a rate, unless told otherwise. */
function sweepPoint(
  label: string,
  rate: number,
  cost: number | null,
  over: Partial<SweepPoint> = {},
): SweepPoint {
  return {
    label,
    gpu: 'g',
    tensorParallel: 1,
    pipelineParallel: 1,
    kvOffloadGiB: null,
    dataParallel: 1,
    expertParallel: false,
    maxNumSeqs: 1,
    maxNumBatchedTokens: 1,
    fusionThreshold: null,
    maxRatePerReplica: rate,
    maxRatePerGpu: rate,
    outputTokensPerSecondPerGpu: 0,
    costPerMillionOutputTokensUsd: cost,
    costPerMillionTotalTokensUsd: cost,
    feasible: rate > 0,
    limitedBy: '',
    replicasForTarget: null,
    gpusForTarget: null,
    pareto: false,
    ...over,
  };
}

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
    // A TPOT bound tight enough to bind before the 600 requests stop measuring the rate.
    const tight = { ...slo, tpotMs: { p99: 20 } };
    const spec = specOf(workloadOf(rows(600, 5)), { engine: { numGpuBlocks: 20000 } });
    const r = searchMaxRate(spec, tight, { relTolerance: 0.03 });
    expect(r.maxRate).toBeGreaterThan(0);
    expect(r.firstFailing).not.toBeNull();
    expect(probeRate(spec, r.maxRate, tight).meets).toBe(true);
    expect(probeRate(spec, r.maxRate * 1.1, tight).meets).toBe(false);
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
    const p = (label: string, rate: number, cost: number, t: number | null) =>
      sweepPoint(label, rate, cost, { fusionThreshold: t });
    const pts = markPareto([
      p('a', 10, 1, null),
      p('b', 8, 2, null),
      p('c', 12, 0.9, 0.7),
      p('d', 11, 1, 0.6),
    ]);
    expect(pts.map((x) => x.pareto)).toEqual([true, false, true, false]);
  });

  it('never scores a missing cost as free, and keeps infeasible configurations off the front', () => {
    const p = sweepPoint;
    // b has no price: it must not beat a's price by scoring 0; a is as fast and priced.
    expect(markPareto([p('a', 10, 1), p('b', 10, null)]).map((x) => x.pareto)).toEqual([true, false]);
    // c meets the SLOs at no rate: never on the front, even with the lowest cost.
    expect(markPareto([p('a', 10, 1), p('c', 0, 0.1)]).map((x) => x.pareto)).toEqual([true, false]);
  });

  it('puts a point marked infeasible on no front, even one that would otherwise dominate', () => {
    // An infeasible row (say the model does not fit) with a rate left over must still be off the front.
    const pts = markPareto([sweepPoint('ok', 5, 3), sweepPoint('infeasible', 9, 1, { feasible: false })]);
    expect(pts.map((x) => x.pareto)).toEqual([true, false]);
  });

  it('never reports a rate a 40-request workload cannot measure, and extends it to measure one', () => {
    const spec = specOf(workloadOf(rows(40, 5)), { engine: { numGpuBlocks: 20000 } });
    const generous = { ttftMs: { p99: 2000 }, tpotMs: { p99: 80 } };
    // As given, 40 requests "meet" any rate (they all fit in one batch): the search must refuse.
    const short = searchMaxRate(spec, generous);
    expect(short.maxRate).toBe(0);
    expect(short.tooShort?.requestsNeeded).toBeGreaterThanOrEqual(MIN_MEASURING_REQUESTS);
    // Repeated until long enough: a finite rate that a much longer run confirms.
    const m = searchMaxRateMeasured(spec, generous, { relTolerance: 0.05 });
    expect(m.search.tooShort).toBeNull();
    expect(m.copies).toBeGreaterThan(1);
    const rate = m.search.maxRate;
    expect(rate).toBeGreaterThan(1);
    expect(rate).toBeLessThan(1000);
    expect(m.spec.workload.n).toBeGreaterThanOrEqual(
      requestsToMeasure(rate, m.search.atMax!.result.mean_e2el_ms),
    );
    const long = { ...spec, workload: tile(spec.workload, m.copies * 4) };
    expect(probeRate(long, rate * 1.5, generous).meets).toBe(false);
    // Not allowed to extend: the answer is a refusal naming the requests needed.
    const refused = searchMaxRateMeasured(spec, generous, { maxExtendedRequests: 0 });
    expect(refused.search.tooShort).not.toBeNull();
  });

  it('marks a configuration that misses the SLOs at zero load infeasible, naming the binding metric', () => {
    const spec = specOf(workloadOf(rows(300, 5)), { engine: { numGpuBlocks: 20000 } });
    const ev = evaluateCapacity(spec, { ttftMs: { p99: 5 }, tpotMs: { p99: 1000 } }, 'tight');
    expect(ev.measured.search.infeasible).toBe(true);
    expect(ev.point.feasible).toBe(false);
    expect(ev.point.maxRatePerGpu).toBe(0);
    expect(ev.point.limitedBy).toMatch(/^infeasible: p99_ttft_ms [\d.]+ > 5 at zero load/);
    expect(ev.point.limitedBy).not.toMatch(/tpot/);
  });

  it('gives every feasible row what limits it and both costs, and verifies the size over seeds', () => {
    const spec = specOf(workloadOf(rows(400, 5)), {
      engine: { numGpuBlocks: 20000 },
      cost: { gpuHourUsd: 2 },
    });
    const ev = evaluateCapacity(spec, slo, 'spec', { relTolerance: 0.05, targetRate: 30 });
    expect(ev.point.feasible).toBe(true);
    expect(ev.point.limitedBy).toMatch(/p99_(ttft|tpot)_ms|queue grows/);
    expect(ev.point.costPerMillionTotalTokensUsd!).toBeLessThan(ev.point.costPerMillionOutputTokensUsd!);
    const other = {
      ...spec,
      seed: 2,
      workload: workloadOf(rows(400, 5).map((r, i) => ({ ...r, out: r.out + (i % 7) }))),
    };
    const v = verifyReplicas([spec, other], ev.replicas!.replicas, 30, slo, ev.measured.copies);
    expect(v.meets).toBe(true);
    expect(v.seeds).toEqual([1, 2]);
    const ttft = v.metrics.p99_ttft_ms;
    expect(v.seedValues.p99_ttft_ms).toHaveLength(2);
    expect(ttft.value).toBeCloseTo((v.seedValues.p99_ttft_ms[0] + v.seedValues.p99_ttft_ms[1]) / 2, 9);
    // One interval policy: the calibration residuals widen it beyond the spread over seeds alone.
    expect(ttft.calibrationSigma).toBeGreaterThan(0);
    expect(ttft.sigma).toBeGreaterThan(ttft.seedSigma);
    expect(ttft.low).toBeLessThan(ttft.value);
    expect(ttft.high).toBeGreaterThan(ttft.value);
    expect(v.slo.map((c) => c.label)).toEqual(['p99 TTFT', 'p99 TPOT']);
  });
});
