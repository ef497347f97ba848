/**
 * ECharts options from API data. Pure functions (no DOM), so they are unit-tested in Node and
 * the pages stay thin. A builder returns null when there is nothing to draw.
 */
import { metricInfo, paretoFront, predictedCompression } from '@kvplan/core';
import type {
  CapacityPlan,
  ChartProfile,
  Histogram,
  KvSeries,
  LatencyCdf,
  Pair,
  ProfileModel,
  RatePoint,
  RateSweep,
  Slo,
  ThresholdSweep,
} from './types';

// Loose on purpose: ECharts' own option type is a deep union that adds nothing here.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type Option = Record<string, any>;

export const COLORS = {
  without: '#3b5bdb',
  with: '#e8590c',
  slo: '#c92a2a',
  ok: '#2b8a3e',
  bad: '#c92a2a',
  grid: '#e9ecef',
  muted: '#868e96',
};

interface Run<T> {
  label: string;
  data: T;
  color: string;
}

/** The runs of a pair that have something to draw: without fusion first, then with. */
function runsOf<T>(
  pair: { withoutFusion: T | null | undefined; withFusion: T | null | undefined },
  has: (t: T) => boolean,
): Run<T>[] {
  const out: Run<T>[] = [];
  if (pair.withoutFusion && has(pair.withoutFusion))
    out.push({ label: 'no fusion', data: pair.withoutFusion, color: COLORS.without });
  if (pair.withFusion && has(pair.withFusion))
    out.push({ label: 'fusion', data: pair.withFusion, color: COLORS.with });
  return out;
}

const base = (): Option => ({
  grid: { left: 64, right: 64, top: 56, bottom: 48, containLabel: false },
  tooltip: { trigger: 'axis', confine: true },
  legend: { top: 4, type: 'plain', textStyle: { fontSize: 12 } },
});

const axisName = (name: string, extra: Option = {}): Option => ({
  name,
  nameLocation: 'middle',
  nameGap: 30,
  nameTextStyle: { color: '#495057', fontSize: 12 },
  splitLine: { lineStyle: { color: COLORS.grid } },
  ...extra,
});

/** The SLO term the charts draw: the first bound found, in TTFT, TPOT, E2E order. */
export function sloTerm(
  slo: Slo | null | undefined,
): { metric: 'ttft' | 'tpot' | 'e2el'; label: string; quantile: string; boundMs: number } | null {
  if (!slo) return null;
  for (const [key, metric, label] of [
    ['ttftMs', 'ttft', 'TTFT'],
    ['tpotMs', 'tpot', 'TPOT'],
    ['e2elMs', 'e2el', 'E2E latency'],
  ] as const) {
    const b = slo[key];
    if (!b) continue;
    for (const q of ['p99', 'p90', 'p50'] as const)
      if (typeof b[q] === 'number') return { metric, label, quantile: q, boundMs: b[q]! };
  }
  return null;
}

const p99Of = (p: RatePoint, metric: 'ttft' | 'tpot' | 'e2el') =>
  metric === 'ttft' ? p.p99TtftMs : metric === 'tpot' ? p.p99TpotMs : p.p99E2elMs;

/**
 * Throughput against offered request rate, without and with fusion (left axis), and the p99 of
 * the SLO's latency metric (right axis, log) with the SLO bound as a horizontal line and the
 * highest rate meeting it as vertical lines.
 */
export function rateSweepOption(rs: Pair<RateSweep>, slo: Slo | null | undefined): Option | null {
  const runs = runsOf(rs, (r) => r.points.length > 0);
  if (!runs.length) return null;
  const term = sloTerm(slo);
  const metric = term?.metric ?? 'ttft';
  const latName = `p99 ${term?.label ?? 'TTFT'} (ms)`;
  const series: Option[] = [];
  for (const { label, data: sweep, color } of runs) {
    series.push({
      name: `throughput, ${label}`,
      type: 'line',
      yAxisIndex: 0,
      color,
      symbolSize: 6,
      data: sweep.points.map((p) => [p.rate, p.outputThroughput]),
      markLine:
        term && sweep.maxRateMeetingSlo !== null
          ? {
              symbol: 'none',
              silent: true,
              lineStyle: { color, type: 'solid', width: 1.5 },
              label: {
                formatter: `max ${fmtNum(sweep.maxRateMeetingSlo)} req/s`,
                color,
                position: 'insideEndTop',
              },
              data: [{ xAxis: sweep.maxRateMeetingSlo }],
            }
          : undefined,
    });
    series.push({
      name: `p99 latency, ${label}`,
      type: 'line',
      yAxisIndex: 1,
      color,
      lineStyle: { type: 'dashed' },
      symbol: 'emptyCircle',
      symbolSize: 5,
      data: sweep.points.map((p) => [p.rate, Math.max(p99Of(p, metric), 0.01)]),
    });
  }
  if (term)
    series.push({
      name: 'SLO',
      type: 'line',
      yAxisIndex: 1,
      color: COLORS.slo,
      data: [],
      markLine: {
        symbol: 'none',
        silent: true,
        lineStyle: { color: COLORS.slo, type: 'dashed', width: 2 },
        label: {
          formatter: `SLO: ${term.label} ${term.quantile} ≤ ${fmtNum(term.boundMs)} ms`,
          position: 'insideStartTop',
          color: COLORS.slo,
        },
        data: [{ yAxis: term.boundMs }],
      },
    });
  return {
    ...base(),
    xAxis: { type: 'value', ...axisName('offered request rate (req/s)'), scale: true },
    yAxis: [
      { type: 'value', ...axisName('output tokens/s', { nameGap: 48 }) },
      { type: 'log', ...axisName(latName, { nameGap: 44 }), splitLine: { show: false } },
    ],
    series,
  };
}

/** A latency CDF (fraction of requests at or under x), without and with fusion; log x when wide. */
export function cdfOption(cdf: Pair<LatencyCdf>, key: keyof LatencyCdf, label: string): Option | null {
  const runs = runsOf(
    { withoutFusion: cdf.withoutFusion?.[key], withFusion: cdf.withFusion?.[key] },
    (v) => v.length > 1,
  );
  if (!runs.length) return null;
  const all = runs.flatMap((r) => r.data).filter((v) => v > 0);
  const wide = all.length > 0 && Math.max(...all) / Math.min(...all) > 50;
  return {
    ...base(),
    tooltip: { trigger: 'axis', confine: true, valueFormatter: (v: number) => fmtNum(v) },
    xAxis: { type: wide ? 'log' : 'value', ...axisName(`${label} (ms)`), scale: true },
    yAxis: { type: 'value', min: 0, max: 1, ...axisName('fraction of requests', { nameGap: 40 }) },
    series: runs.map(({ label: name, data: values, color }) => ({
      name,
      type: 'line',
      color,
      showSymbol: false,
      step: false,
      data: values
        .map((v, i) => [wide ? Math.max(v, 1e-3) : v, i / (values.length - 1)])
        .filter(([v]) => Number.isFinite(v)),
    })),
  };
}

/** KV blocks in use over time, without and with fusion, under the capacity line. */
export function kvOption(kv: Pair<KvSeries>): Option | null {
  const runs = runsOf(kv, (s) => s.t.length > 0);
  if (!runs.length) return null;
  const total = runs[0].data.total;
  return {
    ...base(),
    xAxis: { type: 'value', ...axisName('time (s)'), scale: false },
    yAxis: {
      type: 'value',
      ...axisName('KV blocks in use', { nameGap: 48 }),
      max: (v: { max: number }) => niceCeil(Math.max(v.max, total) * 1.02),
    },
    series: runs.map(({ label: name, data: s, color }, i) => ({
      name,
      type: 'line',
      color,
      showSymbol: false,
      areaStyle: { opacity: 0.12 },
      data: s.t.map((t, j) => [t, s.used[j]]),
      markLine:
        i === 0
          ? {
              symbol: 'none',
              silent: true,
              lineStyle: { color: COLORS.muted, type: 'dashed' },
              label: {
                formatter: `KV capacity ${fmtNum(total)} blocks`,
                position: 'insideEndTop',
                color: COLORS.muted,
              },
              data: [{ yAxis: total }],
            }
          : undefined,
    })),
  };
}

/** The next round number at or above x (steps of half a power of ten), for axis ends. */
export function niceCeil(x: number): number {
  if (!(x > 0)) return 1;
  const step = 10 ** Math.floor(Math.log10(x)) / 2;
  return Math.ceil(x / step) * step;
}

/**
 * Per-layer compression (full blocks / surviving blocks) at each threshold. Measured points are
 * used when the profile has them (at its largest batch or window); otherwise the rate-distortion
 * fit at a batch of `batchSize` sequences of `blocksPerSequence` blocks: sequence j meets the
 * j x blocksPerSequence blocks before it. Layers the profile does not fuse stay at 1.
 */
export function compressionGrid(
  profile: ProfileModel,
  thresholds: number[],
  batchSize: number,
  blocksPerSequence: number,
): { thresholds: number[]; layers: number[]; values: number[][]; measured: boolean; batch: number } {
  const layers = Array.from({ length: profile.numLayers }, (_, i) => i);
  const measured = (profile.points ?? []).filter((p) => p.survivingFraction?.length === profile.numLayers);
  if (measured.length) {
    const size = (p: (typeof measured)[number]) => p.batchSize ?? p.window ?? 0;
    const batch = Math.max(...measured.map(size));
    const pts = measured.filter((p) => size(p) === batch).sort((a, b) => a.threshold - b.threshold);
    return {
      thresholds: pts.map((p) => p.threshold),
      layers,
      values: layers.map((l) => pts.map((p) => 1 / Math.max(p.survivingFraction[l], 1e-6))),
      measured: true,
      batch,
    };
  }
  const fits = new Map((profile.rateDistortion?.layers ?? []).map((f) => [f.layer, f]));
  const values = layers.map((l) =>
    thresholds.map((t) => {
      const f = fits.get(l);
      if (!f || !profile.fusedLayers.includes(l)) return 1;
      return predictedCompression(f, t, batchSize, blocksPerSequence);
    }),
  );
  return { thresholds, layers, values, measured: false, batch: batchSize };
}

export const HEATMAP_THRESHOLDS = [0.5, 0.55, 0.6, 0.65, 0.7, 0.75, 0.8, 0.85, 0.9, 0.95];

/** Heatmap of compression per layer (rows) and threshold (columns); the chosen threshold marked. */
export function heatmapOption(
  profile: ProfileModel,
  opts: { chosen?: number; batchSize: number; blocksPerSequence: number },
): Option | null {
  if (!profile.numLayers) return null;
  const ts = [...new Set([...HEATMAP_THRESHOLDS, ...(opts.chosen !== undefined ? [opts.chosen] : [])])].sort(
    (a, b) => a - b,
  );
  const g = compressionGrid(profile, ts, opts.batchSize, opts.blocksPerSequence);
  if (!g.thresholds.length) return null;
  const data: Array<[number, number, number]> = [];
  let max = 1;
  g.values.forEach((row, l) =>
    row.forEach((v, ti) => {
      data.push([ti, l, Number(v.toFixed(3))]);
      max = Math.max(max, v);
    }),
  );
  const labels = g.thresholds.map((t) => String(Number(t.toFixed(3))));
  const chosenIdx =
    opts.chosen === undefined ? -1 : g.thresholds.findIndex((t) => Math.abs(t - opts.chosen!) < 1e-9);
  return {
    grid: { left: 56, right: 96, top: 24, bottom: 52 },
    tooltip: {
      confine: true,
      formatter: (p: { value: [number, number, number] }) =>
        `layer ${p.value[1]}, threshold ${labels[p.value[0]]}: ${fmtNum(p.value[2])}x`,
    },
    xAxis: {
      type: 'category',
      data: labels,
      ...axisName(`similarity threshold${chosenIdx >= 0 ? ` (chosen: ${labels[chosenIdx]})` : ''}`),
      splitArea: { show: true },
      axisLabel: {
        formatter: (v: string, i: number) => (i === chosenIdx ? `{c|${v}}` : v),
        rich: { c: { fontWeight: 'bold', color: COLORS.with } },
      },
    },
    yAxis: {
      type: 'category',
      data: g.layers.map(String),
      ...axisName('layer', { nameGap: 36 }),
      inverse: true,
    },
    visualMap: {
      min: 1,
      // A profile that fuses nothing stays pale instead of filling the scale.
      max: Number(Math.max(max, 1.25).toFixed(2)),
      calculable: true,
      orient: 'vertical',
      right: 8,
      top: 'center',
      text: ['more', 'less'],
      inRange: { color: ['#f8f9fa', '#a5d8ff', '#4dabf7', '#1c7ed6', '#0b3d91'] },
      formatter: (v: number) => `${fmtNum(v)}x`,
    },
    series: [
      {
        name: 'compression',
        type: 'heatmap',
        data,
        emphasis: { itemStyle: { borderColor: '#000', borderWidth: 1 } },
        markLine:
          chosenIdx >= 0
            ? {
                symbol: 'none',
                silent: true,
                lineStyle: { color: COLORS.with, width: 2 },
                label: { show: false },
                data: [{ xAxis: chosenIdx - 0.5 }, { xAxis: chosenIdx + 0.5 }],
              }
            : undefined,
      },
    ],
  };
}

/**
 * Throughput against accuracy over the threshold sweep, its Pareto front, the chosen threshold
 * marked, and the unfused throughput as a vertical line. Without a measured accuracy the
 * threshold itself is the y axis (higher = fuses less = closer to the unfused model).
 */
export function paretoOption(
  ts: ThresholdSweep | null,
  unfusedThroughput: number | null | undefined,
): Option | null {
  if (!ts || !ts.points.length) return null;
  const measured = ts.accuracyMetric !== null && ts.points.some((p) => p.accuracy !== null);
  const pts = measured ? ts.points.filter((p) => p.accuracy !== null) : ts.points;
  const y = (p: (typeof pts)[number]) => (measured ? p.accuracy! : p.threshold);
  // The accuracy axis's direction comes from the metric registry (an error is better lower).
  const yInfo = metricInfo(measured ? ts.accuracyMetric! : 'fusion-threshold');
  const front = paretoFront(pts, [
    { value: (p) => p.outputThroughput, higherIsBetter: true },
    { value: y, higherIsBetter: yInfo?.higherIsBetter ?? true },
  ]).sort((a, b) => a.outputThroughput - b.outputThroughput);
  const chosen = pts.find((p) => Math.abs(p.threshold - ts.chosen) < 1e-9);
  const yName = measured
    ? `accuracy (${ts.accuracyMetric}${yInfo && !yInfo.higherIsBetter ? ', lower is better' : ''})`
    : 'threshold (accuracy proxy: higher fuses less)';
  return {
    ...base(),
    tooltip: {
      trigger: 'item',
      confine: true,
      formatter: (p: { data: { t: number; i?: boolean; value: [number, number] } }) =>
        `threshold ${p.data.t}: ${fmtNum(p.data.value[0])} tok/s, ${measured ? `accuracy${p.data.i ? ' (interpolated)' : ''}` : 'threshold'} ${fmtNum(p.data.value[1])}`,
    },
    xAxis: { type: 'value', ...axisName('output tokens/s at capacity (fused)'), scale: true },
    yAxis: { type: 'value', ...axisName(yName, { nameGap: 44 }), scale: true },
    series: [
      {
        name: 'thresholds',
        type: 'scatter',
        color: COLORS.muted,
        symbolSize: 9,
        label: {
          show: true,
          position: 'right',
          formatter: (p: { data: { t: number } }) => String(p.data.t),
          fontSize: 11,
        },
        data: pts.map((p) => ({
          value: [p.outputThroughput, y(p)],
          t: p.threshold,
          i: p.accuracyInterpolated,
        })),
        markLine:
          unfusedThroughput && unfusedThroughput > 0
            ? {
                symbol: 'none',
                silent: true,
                lineStyle: { color: COLORS.without, type: 'dashed' },
                label: {
                  formatter: `no fusion ${fmtNum(unfusedThroughput)}`,
                  color: COLORS.without,
                  position: 'insideEndTop',
                },
                data: [{ xAxis: unfusedThroughput }],
              }
            : undefined,
      },
      {
        name: 'Pareto front',
        type: 'line',
        color: COLORS.with,
        symbol: 'circle',
        symbolSize: 7,
        data: front.map((p) => ({ value: [p.outputThroughput, y(p)], t: p.threshold })),
      },
      {
        name: 'chosen',
        type: 'scatter',
        color: COLORS.slo,
        symbol: 'diamond',
        symbolSize: 18,
        label: {
          show: true,
          position: 'top',
          formatter: `chosen ${ts.chosen}`,
          color: COLORS.slo,
          fontWeight: 'bold',
        },
        data: chosen ? [{ value: [chosen.outputThroughput, y(chosen)], t: chosen.threshold }] : [],
      },
    ],
  };
}

/** A histogram as bars over bin labels. */
export function histogramOption(
  h: Histogram | { edges: number[]; width: number; counts: number[] },
  xName: string,
  yName: string,
  color = COLORS.without,
): Option | null {
  if (!h.edges.length) return null;
  return {
    ...base(),
    legend: { show: false },
    tooltip: { trigger: 'axis', confine: true },
    xAxis: {
      type: 'category',
      data: h.edges.map((e) => fmtNum(e)),
      ...axisName(xName),
      axisTick: { alignWithLabel: true },
    },
    yAxis: { type: 'value', ...axisName(yName, { nameGap: 44 }) },
    series: [
      {
        name: yName,
        type: 'bar',
        color,
        barCategoryGap: '8%',
        data: h.counts.map((c) => Number(c.toPrecision(4))),
      },
    ],
  };
}

export const QUEUE_STATES = [
  'waiting',
  'active',
  'delayed',
  'waiting-children',
  'failed',
  'completed',
] as const;
const STATE_COLORS: Record<string, string> = {
  waiting: '#fab005',
  active: '#3b5bdb',
  delayed: '#be4bdb',
  'waiting-children': '#15aabf',
  failed: '#c92a2a',
  completed: '#2b8a3e',
};

/** The queues' job counts by state, stacked. */
export function queueOption(queues: Record<string, Record<string, number>>): Option | null {
  const names = Object.keys(queues).sort();
  if (!names.length) return null;
  return {
    ...base(),
    tooltip: { trigger: 'axis', confine: true, axisPointer: { type: 'shadow' } },
    xAxis: { type: 'value', ...axisName('jobs'), minInterval: 1 },
    yAxis: { type: 'category', data: names },
    grid: { left: 80, right: 24, top: 56, bottom: 48 },
    series: QUEUE_STATES.map((s) => ({
      name: s,
      type: 'bar',
      stack: 'jobs',
      color: STATE_COLORS[s],
      data: names.map((n) => queues[n]?.[s] ?? 0),
    })),
  };
}

/** A capacity plan's sweep: throughput and p99 TTFT per point, each point coloured by the SLO. */
export function capacityOption(plan: CapacityPlan): Option | null {
  const rows = plan.result?.points ?? [];
  if (!rows.length) return null;
  const key = plan.mode === 'max-rate' ? 'rateScale' : plan.mode === 'min-gpus' ? 'replicas' : 'threshold';
  const xName =
    plan.mode === 'max-rate'
      ? 'rate multiple of the workload'
      : plan.mode === 'min-gpus'
        ? 'replicas'
        : 'fusion threshold';
  const sorted = rows
    .filter((r) => typeof r[key] === 'number')
    .sort((a, b) => (a[key] as number) - (b[key] as number));
  const baseline = plan.mode === 'pareto' ? rows.find((r) => r.threshold === null) : undefined;
  const answer = plan.result && plan.result.mode !== 'pareto' ? plan.result.answer : null;
  const term = sloTerm(plan.slo);
  const num = (v: unknown) => (typeof v === 'number' ? v : null);
  return {
    ...base(),
    xAxis: { type: 'value', ...axisName(xName), scale: true },
    yAxis: [
      { type: 'value', ...axisName('output tokens/s', { nameGap: 48 }) },
      { type: 'log', ...axisName('p99 TTFT (ms)', { nameGap: 44 }), splitLine: { show: false } },
    ],
    series: [
      {
        name: 'output tokens/s',
        type: 'line',
        color: COLORS.without,
        symbolSize: 10,
        data: sorted.map((r) => ({
          value: [r[key], num(r.output_throughput)],
          itemStyle: { color: r.meetsSlo ? COLORS.ok : COLORS.bad },
        })),
        markLine: {
          symbol: 'none',
          silent: true,
          data: [
            ...(answer && typeof answer[key] === 'number'
              ? [
                  {
                    xAxis: answer[key],
                    lineStyle: { color: COLORS.ok, width: 2 },
                    label: { formatter: `answer: ${answer[key]}`, color: COLORS.ok },
                  },
                ]
              : []),
            ...(baseline && num(baseline.output_throughput) !== null
              ? [
                  {
                    yAxis: num(baseline.output_throughput),
                    lineStyle: { color: COLORS.muted, type: 'dashed' },
                    label: { formatter: 'no fusion', color: COLORS.muted },
                  },
                ]
              : []),
          ],
        },
      },
      {
        name: 'p99 TTFT (ms)',
        type: 'line',
        yAxisIndex: 1,
        color: COLORS.with,
        lineStyle: { type: 'dashed' },
        data: sorted.map((r) => [r[key], Math.max(num(r.p99_ttft_ms) ?? 0.01, 0.01)]),
        markLine:
          term && term.metric === 'ttft'
            ? {
                symbol: 'none',
                silent: true,
                lineStyle: { color: COLORS.slo, type: 'dashed', width: 2 },
                label: {
                  formatter: `SLO ${term.quantile} ≤ ${fmtNum(term.boundMs)} ms`,
                  color: COLORS.slo,
                  position: 'insideStartTop',
                },
                data: [{ yAxis: term.boundMs }],
              }
            : undefined,
      },
    ],
  };
}

export function fmtNum(x: number | null | undefined): string {
  if (x === null || x === undefined || !Number.isFinite(x)) return '–';
  if (Math.abs(x) >= 1000) return Math.round(x).toLocaleString('en-US');
  return String(Number(x.toPrecision(3)));
}

/** A chart profile's heatmap (a projection's fused run). */
export function projectionHeatmap(p: ChartProfile | null): Option | null {
  return p
    ? heatmapOption(p, {
        chosen: p.threshold,
        batchSize: p.batchSize,
        blocksPerSequence: p.blocksPerSequence,
      })
    : null;
}
