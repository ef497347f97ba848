import { describe, expect, it } from 'vitest';
import type { ProjectionRun, RunMetrics } from '@kvplan/core';
import { applyPoint, capacityAnswer, meetsSlo, projectionResult } from '../src/projection';

// Only the fields these checks read; the rest of a result does not matter to them.
const ok = {
  completed: 10,
  failed: 0,
  p99_ttft_ms: 100,
  median_ttft_ms: 50,
  p99_tpot_ms: 20,
  output_throughput: 100,
} as RunMetrics;
const run = (result: Partial<RunMetrics>, fusion: ProjectionRun['fusion'] = null): ProjectionRun => ({
  result: { ...ok, ...result },
  charts: null,
  fusion,
});

describe('meetsSlo', () => {
  it('checks every bound, by quantile name', () => {
    expect(meetsSlo(ok, { ttftMs: { p99: 150 }, tpotMs: { p99: 20 } })).toBe(true);
    expect(meetsSlo(ok, { ttftMs: { p99: 99 } })).toBe(false);
    expect(meetsSlo(ok, { ttftMs: { p50: 49 } })).toBe(false);
    expect(meetsSlo({ ...ok, failed: 1 }, null)).toBe(false);
    expect(meetsSlo(ok, { e2elMs: { p99: 1 } })).toBe(false); // metric missing counts as not met
  });
});

describe('applyPoint', () => {
  it('scales generator rates and stages, trace time scales, replicas and thresholds without touching the base', () => {
    const base = {
      replicas: 1,
      fusion: { mode: 'bff', threshold: 0.8 },
      workload: { arrival: { rate: 2 }, stages: [{ rate: 1, durationS: 5 }] },
    };
    const p = applyPoint(base, { rateScale: 3 });
    expect(p.workload).toEqual({ arrival: { rate: 6 }, stages: [{ rate: 3, durationS: 5 }] });
    expect(base.workload.arrival.rate).toBe(2);
    expect(applyPoint({ workload: { trace: 't.csv', timeScale: 0.5 } }, { rateScale: 2 }).workload).toEqual({
      trace: 't.csv',
      timeScale: 0.25,
    });
    expect(applyPoint(base, { replicas: 4 }).replicas).toBe(4);
    expect(applyPoint(base, { threshold: null }).fusion).toBeUndefined();
    expect(applyPoint(base, { threshold: 0.9 }).fusion).toEqual({ mode: 'bff', threshold: 0.9 });
  });
});

describe('capacityAnswer', () => {
  const slo = { ttftMs: { p99: 150 } };
  it('max-rate: the highest multiple meeting the SLO', () => {
    const a = capacityAnswer(
      'max-rate',
      [
        { index: 0, point: { rateScale: 1 }, result: ok },
        { index: 1, point: { rateScale: 2 }, result: { ...ok, p99_ttft_ms: 140 } },
        { index: 2, point: { rateScale: 4 }, result: { ...ok, p99_ttft_ms: 900 } },
      ],
      slo,
      1,
    );
    expect(a.answer?.rateScale).toBe(2);
  });
  it('min-gpus: fewest replicas meeting the SLO, counted in GPUs', () => {
    const a = capacityAnswer(
      'min-gpus',
      [
        { index: 0, point: { replicas: 1 }, result: { ...ok, p99_ttft_ms: 900 } },
        { index: 1, point: { replicas: 2 }, result: ok },
        { index: 2, point: { replicas: 4 }, result: ok },
      ],
      slo,
      4,
    );
    expect(a.answer).toMatchObject({ replicas: 2, gpus: 8 });
  });
  it('pareto: keeps thresholds no other beats on both throughput and threshold', () => {
    const a = capacityAnswer(
      'pareto',
      [
        { index: 0, point: { threshold: null }, result: ok },
        { index: 1, point: { threshold: 0.7 }, result: { ...ok, output_throughput: 150 } },
        { index: 2, point: { threshold: 0.8 }, result: { ...ok, output_throughput: 160 } },
        { index: 3, point: { threshold: 0.9 }, result: { ...ok, output_throughput: 120 } },
      ],
      null,
      1,
    );
    expect(a.front.map((r) => r.threshold)).toEqual([0.8, 0.9]);
  });
  it('pareto: a point that misses the SLO is never on the front, however fast', () => {
    const a = capacityAnswer(
      'pareto',
      [
        { index: 0, point: { threshold: 0.7 }, result: { ...ok, output_throughput: 150 } },
        { index: 1, point: { threshold: 0.8 }, result: { ...ok, output_throughput: 400, p99_ttft_ms: 5000 } },
        { index: 2, point: { threshold: 0.9 }, result: { ...ok, output_throughput: 120 } },
      ],
      { ttftMs: { p99: 1000 } },
      1,
    );
    expect(a.front.map((r) => r.threshold)).toEqual([0.7, 0.9]);
  });
});

describe('projectionResult', () => {
  it('reports the gain and no accuracy without a measured profile', () => {
    const r = projectionResult(run({}), run({ output_throughput: 150 }));
    expect(r.throughputGain).toBe(1.5);
    expect(r.accuracy).toEqual({ source: 'none' });
  });
  it("reports the profile's accuracy at the chosen threshold with its source and direction", () => {
    const fusion = {
      mode: 'bff' as const,
      threshold: 0.8,
      scope: 'global' as const,
      profileSource: 'kv-sample' as const,
      accuracy: [
        { threshold: 0.7, metric: 'attention-output-rel-error', value: 0.2, interval: null, how: 'x' },
        { threshold: 0.8, metric: 'attention-output-rel-error', value: 0.1, interval: null, how: 'y' },
      ],
    };
    const r = projectionResult(run({}), run({ output_throughput: 120 }, fusion), 'p1');
    expect(r.fusion).toMatchObject({ threshold: 0.8, profileSource: 'kv-sample', fusionProfileId: 'p1' });
    expect(r.accuracy).toMatchObject({ source: 'proxy', value: 0.1, higherIsBetter: false });
  });
});
