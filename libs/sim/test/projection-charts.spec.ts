import { describe, expect, it } from 'vitest';
import type { ProjectionRun, RunCharts, RunMetrics } from '@kvplan/core';
import { resolveSimulationSpec, simulate } from '../src';
import {
  projectionCharts,
  projectionResult,
  CDF_LEVELS,
  MAX_SERIES_POINTS,
  RATE_MULTIPLES,
  THRESHOLDS,
  accuracyAt,
  downsampleMax,
  quantiles,
  round4,
  runCharts,
  strideSample,
  withSeries,
} from '../src/projection';

const spec = (extra: Record<string, unknown> = {}) =>
  resolveSimulationSpec(
    {
      model: 'meta-llama/Llama-3.1-8B',
      gpu: 'l4',
      engine: { maxModelLen: 4096 },
      workload: {
        arrival: { process: 'poisson', rate: 4 },
        numRequests: 200,
        inputTokens: { lognormal: { median: 600, sigma: 0.4 } },
        outputTokens: { uniform: [20, 80] },
      },
      seed: 3,
      ...extra,
    },
    { fileName: 'spec', baseDir: '.' },
  );

describe('quantiles', () => {
  it('interpolates linearly between order statistics, as numpy does', () => {
    expect(quantiles([4, 1, 3, 2], [0, 0.5, 1])).toEqual([1, 2.5, 4]);
    expect(quantiles([10], [0, 0.99])).toEqual([10, 10]);
    expect(quantiles([], [0.5])).toEqual([]);
    expect(round4(123456)).toBe(123500);
  });
});

describe('accuracyAt', () => {
  it('uses a measured value, interpolates between measured thresholds and never extrapolates', () => {
    const m = [
      { threshold: 0.9, value: 0.99 },
      { threshold: 0.7, value: 0.95 },
    ];
    expect(accuracyAt(m, 0.9)).toEqual({ value: 0.99, interpolated: false });
    const mid = accuracyAt(m, 0.75)!;
    expect(mid.interpolated).toBe(true);
    expect(mid.value).toBeCloseTo(0.96, 10);
    expect(accuracyAt(m, 0.6)).toBeNull();
    expect(accuracyAt(m, 0.95)).toBeNull();
    expect(accuracyAt([], 0.8)).toBeNull();
  });

  it('keeps to one metric of a list that holds several', () => {
    const m = [
      { threshold: 0.6, metric: 'attention-output-rel-error', value: 0.03 },
      { threshold: 0.6, metric: 'top8-attention-overlap', value: 0.9 },
      { threshold: 0.8, metric: 'top8-attention-overlap', value: 0.95 },
      { threshold: 0.8, metric: 'attention-output-rel-error', value: 0.01 },
    ];
    expect(accuracyAt(m, 0.7, 'attention-output-rel-error')!.value).toBeCloseTo(0.02, 12);
    expect(accuracyAt(m, 0.8, 'attention-output-rel-error')).toEqual({ value: 0.01, interpolated: false });
    expect(accuracyAt(m, 0.7, 'top8-attention-overlap')!.value).toBeCloseTo(0.925, 12);
  });
});

describe('downsampleMax and strideSample', () => {
  it('keeps each bucket peak and at most the asked number of points', () => {
    const t = Array.from({ length: 1000 }, (_, i) => i);
    const v = t.map((i) => (i === 537 ? 99 : i % 7));
    const d = downsampleMax(t, v, 100);
    expect(d.t.length).toBeLessThanOrEqual(100);
    expect(Math.max(...d.used)).toBe(99);
  });

  it('samples every k-th request with every column', () => {
    const w = spec().workload;
    const s = strideSample(w, 50);
    expect(s.n).toBe(50);
    expect(s.arrivalS[1]).toBe(w.arrivalS[4]);
    expect(s.inputTokens[2]).toBe(w.inputTokens[8]);
    expect(s.tenant.length).toBe(50);
    expect(strideSample(w, 1000)).toBe(w);
  });
});

describe('runCharts', () => {
  it('gives CDFs that agree with the run summary, a KV series and a rate sweep with the SLO bisected', () => {
    const resolved = withSeries(spec({ slo: { ttftMs: { p99: 800 } } }));
    const run = simulate(resolved);
    const c = runCharts(resolved, run);
    expect(c.latencyCdf.ttftMs).toHaveLength(CDF_LEVELS.length);
    // p99 of the stored curve is the summary's p99 (same interpolation), to 4 digits.
    expect(c.latencyCdf.ttftMs[99]).toBeCloseTo(
      run.result.p99_ttft_ms,
      -Math.log10(run.result.p99_ttft_ms) + 3,
    );
    expect(c.latencyCdf.e2elMs[50]).toBeCloseTo(run.result.median_e2el_ms, -1);
    for (let i = 1; i < 101; i++)
      expect(c.latencyCdf.tpotMs[i]).toBeGreaterThanOrEqual(c.latencyCdf.tpotMs[i - 1]);
    expect(c.kvBlocks.t.length).toBeGreaterThan(20);
    expect(c.kvBlocks.t.length).toBeLessThanOrEqual(MAX_SERIES_POINTS);
    // The series samples instants (then keeps each window's maximum): it can miss a peak that
    // falls between two samples, never exceed it.
    expect(Math.max(...c.kvBlocks.used)).toBeLessThanOrEqual(run.result.kv_peak_used_blocks);
    expect(Math.max(...c.kvBlocks.used)).toBeGreaterThan(0.9 * run.result.kv_peak_used_blocks);
    expect(c.kvBlocks.total).toBe(run.result.kv_blocks_total);

    const sweep = c.rateSweep;
    expect(sweep.points.length).toBeGreaterThanOrEqual(RATE_MULTIPLES.length);
    expect(sweep.offeredRate).toBeGreaterThan(2);
    const rates = sweep.points.map((p) => p.rate);
    expect(rates).toEqual([...rates].sort((a, b) => a - b));
    // An L4 saturates within 4x the offered rate: the max rate lies strictly inside the sweep and
    // every point at or under it meets the SLO, the first one over it does not.
    expect(sweep.maxRateMeetingSlo).not.toBeNull();
    const max = sweep.maxRateMeetingSlo!;
    expect(sweep.points.filter((p) => p.rate <= max).every((p) => p.meetsSlo)).toBe(true);
    expect(sweep.points.find((p) => p.rate > max)?.meetsSlo).toBe(false);
    expect(c.thresholdSweep).toBeNull();
    expect(c.fusionProfile).toBeNull();
  });

  it('sweeps fusion thresholds (more fusion at lower thresholds) and reports the profile it used', () => {
    const resolved = withSeries(spec({ fusion: { mode: 'bff', threshold: 0.72 } }));
    const c = runCharts(resolved, simulate(resolved));
    const ts = c.thresholdSweep!;
    expect(ts.chosen).toBe(0.72);
    expect(ts.points.map((p) => p.threshold)).toContain(0.72);
    expect(ts.points).toHaveLength(THRESHOLDS.length + 1);
    expect(ts.points[0].fusedFraction).toBeGreaterThan(ts.points[ts.points.length - 1].fusedFraction);
    expect(ts.accuracyMetric).toBeNull();
    expect(ts.accuracyHigherIsBetter).toBeNull();
    // Without accuracy the threshold is the proxy: the front holds the thresholds no other beats
    // on both throughput and threshold, and it includes the highest threshold (the safest).
    expect(ts.front.length).toBeGreaterThan(0);
    expect(ts.front).toContain(Math.max(...ts.points.map((p) => p.threshold)));
    // At capacity the KV cache is full: the 0.5 threshold (fuses most) serves more than no fusion.
    expect(ts.saturated).toBe(true);
    expect(ts.points[0].outputThroughput).toBeGreaterThan(ts.unfusedOutputThroughput * 1.05);
    expect(c.rateSweep.maxRateMeetingSlo).toBeNull(); // no SLO
    expect(c.fusionProfile).toMatchObject({ source: 'parametric', numLayers: 32, threshold: 0.72 });
    expect(c.fusionProfile!.fusedLayers).toHaveLength(28);
    expect(c.fusionProfile!.batchSize).toBeGreaterThanOrEqual(1);
  });
});

describe('projectionResult charts', () => {
  // Stand-ins: the pairing copies what each run computed, whatever it is.
  const run = (throughput: number, charts: Record<string, unknown> | null): ProjectionRun => ({
    result: { output_throughput: throughput } as RunMetrics,
    charts: charts as RunCharts | null,
    fusion: null,
  });
  it("pairs the runs' charts and keeps them out of the per-run metrics", () => {
    const a = run(10, { latencyCdf: { ttftMs: [1] }, kvBlocks: 'a', rateSweep: 'ra' });
    const b = run(12, {
      latencyCdf: { ttftMs: [2] },
      kvBlocks: 'b',
      rateSweep: 'rb',
      thresholdSweep: 'ts',
      fusionProfile: 'fp',
    });
    const r = projectionResult(a, b);
    expect(r.withoutFusion).not.toHaveProperty('charts');
    expect(r.withFusion).not.toHaveProperty('charts');
    expect(r.throughputGain).toBeCloseTo(1.2, 12);
    expect(r.charts).toEqual({
      version: 1,
      latencyCdf: { withoutFusion: { ttftMs: [1] }, withFusion: { ttftMs: [2] } },
      kvBlocks: { withoutFusion: 'a', withFusion: 'b' },
      rateSweep: { withoutFusion: 'ra', withFusion: 'rb' },
      thresholdSweep: 'ts',
      fusionProfile: 'fp',
    });
    expect(projectionCharts(run(1, null), null)).toBeNull();
    expect(projectionResult(run(1, null), null)).not.toHaveProperty('charts');
  });
});
