// The dashboard's pure parts: chart options from API data, the workload histograms, the bundle.
import { describe, expect, it } from 'vitest';
import { accuracyTradeoffs, paretoFront, type AccuracyEntry } from '@kvplan/core';
import { generateWorkload } from '@kvplan/sim';
import {
  capacityOption,
  cdfOption,
  compressionGrid,
  heatmapOption,
  kvOption,
  niceCeil,
  paretoOption,
  queueOption,
  rateSweepOption,
  sloTerm,
  sloTerms,
  sloText,
  spanOf,
  logSpanOf,
  tradeoffOption,
  unitTooltip,
  type Option,
} from '../dashboard/src/options';
import type { CapacityPlan, RateSweep, ThresholdSweep } from '../dashboard/src/types';
import { DASHBOARD_CSP, buildDashboard } from '../src/modules/dashboard/dashboard.static';
import { niceWidth, workloadHistograms } from '../src/modules/dashboard/workload-histograms';

const sweep = (scale: number, max: number | null): RateSweep => ({
  offeredRate: 2,
  requests: 200,
  maxRateMeetingSlo: max,
  points: [1, 2, 4].map((rate) => ({
    rate,
    requestThroughput: rate,
    outputThroughput: rate * 50 * scale,
    p99TtftMs: rate * 300,
    p99TpotMs: 40,
    p99E2elMs: rate * 900,
    stable: true,
    meetsSlo: rate * 300 <= 800,
  })),
});

describe('sloTerm', () => {
  it('picks the first p99 bound (the charts draw p99), else the first bound, and lists every term', () => {
    expect(sloTerm({ tpotMs: { p90: 50 }, e2elMs: { p99: 9 } })).toEqual({
      metric: 'e2el',
      label: 'E2E latency',
      quantile: 'p99',
      boundMs: 9,
    });
    expect(sloTerm({ tpotMs: { p90: 50 } })).toMatchObject({ metric: 'tpot', quantile: 'p90' });
    expect(sloTerms({ ttftMs: { p99: 800, p50: 200 }, tpotMs: { p90: 50 } })).toHaveLength(3);
    expect(sloText({ ttftMs: { p99: 800 }, tpotMs: { p90: 50 } })).toBe(
      'TTFT p99 ≤ 800 ms, TPOT p90 ≤ 50 ms',
    );
    expect(sloTerm(null)).toBeNull();
    expect(sloTerm({})).toBeNull();
  });
});

describe('rateSweepOption', () => {
  it('draws both runs, the SLO bound and the highest rate meeting it', () => {
    const o = rateSweepOption(
      { withoutFusion: sweep(1, 2.5), withFusion: sweep(1.2, 3) },
      { ttftMs: { p99: 800 } },
    )!;
    const names = o.series.map((s: { name: string }) => s.name);
    expect(names).toEqual([
      'throughput, no fusion',
      'p99 latency, no fusion',
      'throughput, fusion',
      'p99 latency, fusion',
      'SLO',
    ]);
    expect(o.series[0].data).toEqual([
      [1, 50],
      [2, 100],
      [4, 200],
    ]);
    expect(o.series[0].markLine.data).toEqual([{ xAxis: 2.5 }]);
    expect(o.series[2].markLine.data).toEqual([{ xAxis: 3 }]);
    expect(o.series[4].markLine.data).toEqual([{ yAxis: 800 }]);
    expect(o.series[1].data[2]).toEqual([4, 1200]);
  });

  it('has no SLO line without an SLO, and nothing to draw without points', () => {
    const o = rateSweepOption({ withoutFusion: sweep(1, null), withFusion: null }, undefined)!;
    expect(o.series.map((s: { name: string }) => s.name)).not.toContain('SLO');
    expect(o.series[0].markLine).toBeUndefined();
    expect(rateSweepOption({ withoutFusion: null, withFusion: null }, null)).toBeNull();
  });
});

describe('SLO lines on their axis', () => {
  it('stretches the latency axis to the SLO bound, wherever the curves are', () => {
    const o = rateSweepOption(
      { withoutFusion: sweep(1, null), withFusion: null },
      { ttftMs: { p99: 50_000 } },
    )!;
    const slo = o.series.find((s: { name: string }) => s.name === 'SLO');
    expect(slo.yAxisIndex).toBe(1);
    expect(o.yAxis[1].max).toBeGreaterThan(50_000);
    expect(o.yAxis[1].min).toBeLessThan(300);
  });

  it('plots the capacity sweep in the metric its SLO term bounds', () => {
    const plan = {
      mode: 'max-rate',
      slo: { tpotMs: { p90: 40 } },
      result: {
        mode: 'max-rate',
        answer: null,
        points: [{ rateScale: 1, meetsSlo: false, output_throughput: 10, p99_ttft_ms: 900, p99_tpot_ms: 55 }],
      },
    } as unknown as CapacityPlan;
    const o = capacityOption(plan)!;
    expect(o.yAxis[1].name).toBe('p99 TPOT (ms)');
    expect(o.series[1].markLine.label.formatter).toBe('SLO TPOT p90 ≤ 40 ms (curve: p99)');
    expect(o.series[1].data).toEqual([[1, 55]]);
    expect(o.series[1].markLine.data).toEqual([{ yAxis: 40 }]);
    expect(o.yAxis[1].min).toBeLessThan(40);
  });
});

describe('cdfOption and kvOption', () => {
  it('pairs quantile values with levels and switches to a log axis over a wide range', () => {
    const narrow = cdfOption(
      { withoutFusion: { ttftMs: [10, 20, 30], tpotMs: [], e2elMs: [] }, withFusion: null },
      'ttftMs',
      'TTFT',
    )!;
    expect(narrow.series[0].data).toEqual([
      [10, 0],
      [20, 0.5],
      [30, 1],
    ]);
    expect(narrow.xAxis.type).toBe('value');
    const wide = cdfOption(
      { withoutFusion: { ttftMs: [1, 10, 1000], tpotMs: [], e2elMs: [] }, withFusion: null },
      'ttftMs',
      'TTFT',
    )!;
    expect(wide.xAxis.type).toBe('log');
    expect(cdfOption({ withoutFusion: null, withFusion: null }, 'tpotMs', 'TPOT')).toBeNull();
  });

  it('draws KV use under a capacity line and rounds the axis end', () => {
    const o = kvOption({
      withoutFusion: { t: [0, 1], used: [5, 9], total: 1885 },
      withFusion: { t: [0, 1], used: [4, 6], total: 1885 },
    })!;
    expect(o.series).toHaveLength(2);
    expect(o.series[0].markLine.data).toEqual([{ yAxis: 1885 }]);
    expect(o.yAxis.max({ max: 9 })).toBe(2000);
    expect(niceCeil(1979)).toBe(2000);
    expect(niceCeil(0.42)).toBe(0.45);
  });
});

describe('compression heatmap', () => {
  const profile = {
    numLayers: 4,
    fusedLayers: [1, 2],
    rateDistortion: {
      model: 'poisson-logistic/1' as const,
      layers: [1, 2].map((layer) => ({ layer, pMax: 0.02, t0: 0.6, width: 0.03 })),
    },
  };

  it('predicts more compression at lower thresholds and none on unfused layers', () => {
    const g = compressionGrid(profile, [0.5, 0.7, 0.9], 16, 32);
    expect(g.measured).toBe(false);
    expect(g.values[0]).toEqual([1, 1, 1]);
    expect(g.values[3]).toEqual([1, 1, 1]);
    expect(g.values[1][0]).toBeGreaterThan(g.values[1][1]);
    expect(g.values[1][1]).toBeGreaterThan(g.values[1][2]);
    expect(g.values[1][2]).toBeGreaterThanOrEqual(1);
  });

  it('uses measured points at the largest batch when the profile has them', () => {
    const g = compressionGrid(
      {
        ...profile,
        points: [
          { threshold: 0.8, batchSize: 4, survivingFraction: [1, 0.9, 0.9, 1] },
          { threshold: 0.8, batchSize: 8, survivingFraction: [1, 0.5, 0.25, 1] },
          { threshold: 0.6, batchSize: 8, survivingFraction: [1, 0.4, 0.2, 1] },
        ],
      },
      [0.5],
      1,
      1,
    );
    expect(g).toMatchObject({ measured: true, batch: 8, thresholds: [0.6, 0.8] });
    expect(g.values[1]).toEqual([2.5, 2]);
    expect(g.values[2]).toEqual([5, 4]);
  });

  it('marks the chosen threshold and keeps a pale scale when nothing fuses', () => {
    const o = heatmapOption(profile, { chosen: 0.72, batchSize: 16, blocksPerSequence: 32 })!;
    const labels: string[] = o.xAxis[0].data;
    expect(labels).toContain('0.72');
    expect(o.series[0].data).toHaveLength(4 * labels.length);
    // The outline is on the column's edges, on the hidden twin axis where column i spans i ± 0.5.
    const i = labels.indexOf('0.72');
    expect(o.xAxis[1]).toMatchObject({ type: 'value', min: -0.5, max: labels.length - 0.5 });
    expect(o.series[1].xAxisIndex).toBe(1);
    expect(o.series[1].markLine.data).toEqual([{ xAxis: i - 0.5 }, { xAxis: i + 0.5 }]);
    const flat = heatmapOption({ ...profile, rateDistortion: null }, { batchSize: 8, blocksPerSequence: 8 })!;
    expect(flat.visualMap.max).toBe(1.25);
  });
});

describe('Pareto front', () => {
  it('keeps the points no other beats on both axes', () => {
    const pts = [
      { x: 1, y: 5 },
      { x: 2, y: 4 },
      { x: 2, y: 3 },
      { x: 3, y: 1 },
      { x: 1, y: 1 },
    ];
    const up = (k: 'x' | 'y') => ({ value: (p: { x: number; y: number }) => p[k], higherIsBetter: true });
    expect(paretoFront(pts, [up('x'), up('y')])).toEqual([pts[0], pts[1], pts[3]]);
  });

  const ts: ThresholdSweep = {
    chosen: 0.8,
    saturated: true,
    unfusedOutputThroughput: 100,
    accuracyMetric: null,
    accuracyHigherIsBetter: null,
    front: [],
    points: [0.6, 0.8, 0.9].map((threshold, i) => ({
      threshold,
      outputThroughput: 180 - i * 30,
      p99TtftMs: 1,
      fusedFraction: 0.5 - i * 0.1,
      accuracy: null,
      accuracyInterpolated: false,
    })),
  };
  const xs = (o: Option, i: number): number[] => o.series[i].data.map((d: { t: number }) => d.t);

  it('uses the threshold as the proxy without measured accuracy, marks the chosen point and the baseline', () => {
    const proxy = paretoOption(ts, 100)!;
    expect(proxy.yAxis.name).toMatch(/threshold/);
    expect(xs(proxy, 1)).toEqual([0.9, 0.8, 0.6]);
    expect(proxy.series[2].data[0].value).toEqual([150, 0.8]);
    expect(proxy.series[0].markLine.data).toHaveLength(1);
    expect(proxy.series[0].markLine.data[0].xAxis).toBe(100);
    expect(paretoOption(null, 1)).toBeNull();
  });

  it('keeps the no-fusion baseline inside the throughput axis, whichever side it falls', () => {
    for (const unfused of [100, 500]) {
      const o = paretoOption(ts, unfused)!;
      expect(o.xAxis.scale).toBeUndefined();
      expect(o.xAxis.min).toBeLessThan(Math.min(unfused, 120));
      expect(o.xAxis.max).toBeGreaterThan(Math.max(unfused, 180));
    }
  });

  it('draws one measured metric per chart, its stored values, direction, interval and front', () => {
    // Two metrics in one list, as a kv-sample profile stores them.
    const accuracy: AccuracyEntry[] = [0.6, 0.8, 0.9].flatMap((threshold, i) => [
      {
        threshold,
        metric: 'attention-output-rel-error',
        value: [0.03, 0.02, 0.012][i],
        interval: [[0.025, 0.035], [0.017, 0.023], null][i] as [number, number] | null,
        how: 'kv',
      },
      { threshold, metric: 'top8-attention-overlap', value: [0.9, 0.94, 0.97][i], interval: null, how: 'kv' },
    ]);
    const [err, overlap] = accuracyTradeoffs(ts.points, accuracy);
    const o = tradeoffOption(err, { chosen: 0.8, unfused: 200 })!;
    expect(o.yAxis.name).toBe('attention output relative error (ratio, lower is better)');
    expect(o.yAxis.inverse).toBe(true);
    expect(o.series[0].data.map((d: { value: number[] }) => d.value)).toEqual([
      [180, 0.03],
      [150, 0.02],
      [120, 0.012],
    ]);
    // The axis holds every value and interval end, and the baseline (200, above every point).
    expect(o.yAxis.min).toBeLessThan(0.012);
    expect(o.yAxis.max).toBeGreaterThan(0.035);
    expect(o.xAxis.max).toBeGreaterThan(200);
    const marks = o.series[0].markLine.data;
    expect(marks[0].xAxis).toBe(200);
    expect(marks.slice(1).map((m: Array<{ coord: number[] }>) => [m[0].coord, m[1].coord])).toEqual([
      [
        [180, 0.025],
        [180, 0.035],
      ],
      [
        [150, 0.017],
        [150, 0.023],
      ],
    ]);
    // Lower error and more throughput trade off: every point is on the front.
    expect(xs(o, 1)).toEqual([0.9, 0.8, 0.6]);
    expect(o.series[2].data[0].value).toEqual([150, 0.02]);
    const tip = o.tooltip.formatter({ data: o.series[0].data[0] });
    expect(tip).toMatch(
      /180 tok\/s, attention output relative error 0.03 ratio \(95 % interval 0.025 to 0.035\)/,
    );
    const o2 = tradeoffOption(overlap, { chosen: 0.8, unfused: 200 })!;
    expect(o2.yAxis.name).toMatch(/top-8 attention overlap \(fraction, higher is better\)/);
    expect(o2.yAxis.inverse).toBe(false);
    expect(o2.series[0].data.map((d: { value: number[] }) => d.value[1])).toEqual([0.9, 0.94, 0.97]);
  });
});

describe('axes and tooltips', () => {
  it('spans every value with room either side', () => {
    expect(spanOf([1, 3, null])).toEqual({ min: 0.5, max: 3.5 });
    expect(spanOf([0.012, 0.035])).toEqual({ min: 0.01, max: 0.04 });
    expect(spanOf([174, 192])).toEqual({ min: 170, max: 195 });
    expect(spanOf([])).toBeNull();
    expect(logSpanOf([10, 1000, 0])).toEqual({ min: 1, max: 10000 });
  });

  it('prints units in axis tooltips', () => {
    const t = unitTooltip('req/s', (n) => (n.startsWith('throughput') ? 'tok/s' : 'ms'));
    expect(
      t.formatter([
        { seriesName: 'throughput, fusion', marker: '', value: [2, 1234.5] },
        { seriesName: 'p99 latency, fusion', marker: '', value: [2, 81.234] },
      ]),
    ).toBe('2 req/s<br/>throughput, fusion: 1,235 tok/s<br/>p99 latency, fusion: 81.2 ms');
  });
});

describe('queue and capacity charts', () => {
  it('stacks every queue state', () => {
    const o = queueOption({ simulate: { waiting: 2, active: 1 }, capacity: { completed: 4 } })!;
    expect(o.yAxis.data).toEqual(['capacity', 'simulate']);
    expect(o.series.find((s: { name: string }) => s.name === 'waiting').data).toEqual([0, 2]);
    expect(o.series.find((s: { name: string }) => s.name === 'completed').data).toEqual([4, 0]);
    expect(queueOption({})).toBeNull();
  });

  it('colours capacity points by the SLO and marks the answer', () => {
    const plan = {
      id: 'x',
      mode: 'max-rate',
      status: 'succeeded',
      job: null,
      points: [],
      slo: { ttftMs: { p99: 800 } },
      createdAt: '',
      result: {
        mode: 'max-rate',
        answer: { rateScale: 1 },
        points: [
          { rateScale: 2, meetsSlo: false, output_throughput: 190, p99_ttft_ms: 5000 },
          { rateScale: 1, meetsSlo: true, output_throughput: 100, p99_ttft_ms: 500 },
        ],
      },
    } as unknown as CapacityPlan;
    const o = capacityOption(plan)!;
    expect(o.series[0].data.map((d: { value: number[] }) => d.value)).toEqual([
      [1, 100],
      [2, 190],
    ]);
    expect(o.series[0].data.map((d: { itemStyle: { color: string } }) => d.itemStyle.color)).toEqual([
      '#2b8a3e',
      '#c92a2a',
    ]);
    expect(o.series[0].markLine.data[0].xAxis).toBe(1);
    expect(o.series[1].markLine.data).toEqual([{ yAxis: 800 }]);
  });
});

describe('workloadHistograms', () => {
  it('bins arrivals as a rate and lengths as counts that add up to the workload', () => {
    const w = generateWorkload(
      {
        arrival: { process: 'poisson', rate: 5 },
        numRequests: 1000,
        inputTokens: { uniform: [100, 900] },
        outputTokens: { fixed: 64 },
      } as never,
      7,
      { baseDir: '.', path: 'workload' },
    );
    const h = workloadHistograms(w, 40);
    expect(h.requests).toBe(1000);
    expect(h.meanRate).toBeGreaterThan(4);
    expect(h.meanRate).toBeLessThan(6);
    const arrived = h.arrivals.ratePerS.reduce((a, r) => a + r * h.arrivals.width, 0);
    expect(arrived).toBeCloseTo(1000, 6);
    expect(h.inputTokens.counts.reduce((a, b) => a + b, 0)).toBe(1000);
    expect(h.inputTokens.edges.length).toBeLessThanOrEqual(45);
    expect(h.inputTokens.edges[0]).toBeLessThanOrEqual(100);
    expect(h.outputTokens.counts).toEqual([1000]);
    expect(h.outputTokens.p99).toBe(64);
    expect(niceWidth(800, 40)).toBe(20);
    expect(niceWidth(0, 10)).toBe(1);
  });
});

describe('buildDashboard', () => {
  it('bundles page, script and styles, all from this origin', async () => {
    const assets = await buildDashboard();
    const byPath = new Map(assets.map((a) => [a.path, a]));
    expect([...byPath.keys()].sort()).toEqual(['/', '/app.css', '/app.js']);
    const html = byPath.get('/')!.body.toString();
    const css = byPath.get('/app.css')!.body.toString();
    // No CDN, no external font: the page and its styles name no other origin.
    // (The favicon's inline SVG names its XML namespace, which is never fetched.)
    expect(html.replaceAll('http://www.w3.org/2000/svg', '')).not.toMatch(/https?:\/\//);
    expect(css).not.toMatch(/https?:\/\/|@import|@font-face/);
    expect(byPath.get('/app.js')!.body.length).toBeGreaterThan(100_000); // ECharts is in it
    expect(byPath.get('/app.js')!.gzip.length).toBeLessThan(byPath.get('/app.js')!.body.length / 2);
    expect(DASHBOARD_CSP).toMatch(/default-src 'self'/);
    expect(DASHBOARD_CSP).not.toMatch(/unsafe-eval/);
  }, 30_000);
});
