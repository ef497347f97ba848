/**
 * ECharts options from API data. Pure functions (no DOM), so they are unit-tested in Node and
 * the pages stay thin. A builder returns null when there is nothing to draw.
 */
import { metricInfo, paretoFront, predictedCompression, type MetricTradeoff } from '@kvplan/core';
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

/** An axis named in the middle, in the dashboard's type and grid colours. */
export const axisName = (name: string, extra: Option = {}): Option => ({
  name,
  nameLocation: 'middle',
  nameGap: 30,
  nameTextStyle: { color: '#495057', fontSize: 12 },
  splitLine: { lineStyle: { color: COLORS.grid } },
  ...extra,
});

/**
 * An axis-triggered tooltip that prints every value with its unit: the x value (with `xUnit`)
 * as the title, then one line per series with the unit `unitOf(seriesName)`.
 */
export function unitTooltip(xUnit: string, unitOf: (series: string) => string): Option {
  return {
    trigger: 'axis',
    confine: true,
    formatter: (ps: unknown) => {
      const list = (Array.isArray(ps) ? ps : [ps]) as Array<{
        seriesName: string;
        marker: string;
        value: unknown;
      }>;
      if (!list.length) return '';
      const pair = (v: unknown): [unknown, unknown] => (Array.isArray(v) ? [v[0], v[1]] : [undefined, v]);
      const x = pair(list[0].value)[0];
      const head = typeof x === 'number' ? `${fmtNum(x)} ${xUnit}` : '';
      const lines = list.map((p) => {
        const y = pair(p.value)[1];
        const u = unitOf(p.seriesName);
        return `${p.marker}${p.seriesName}: ${typeof y === 'number' ? fmtNum(y) : '–'}${u ? ` ${u}` : ''}`;
      });
      return [head, ...lines].filter(Boolean).join('<br/>');
    },
  };
}

export interface SloTerm {
  metric: 'ttft' | 'tpot' | 'e2el';
  label: string;
  quantile: 'p99' | 'p90' | 'p50';
  boundMs: number;
}

/** Every bound of an SLO, in TTFT, TPOT, E2E order and p99, p90, p50 order. */
export function sloTerms(slo: Slo | null | undefined): SloTerm[] {
  const out: SloTerm[] = [];
  for (const [key, metric, label] of [
    ['ttftMs', 'ttft', 'TTFT'],
    ['tpotMs', 'tpot', 'TPOT'],
    ['e2elMs', 'e2el', 'E2E latency'],
  ] as const) {
    const b = slo?.[key];
    for (const q of ['p99', 'p90', 'p50'] as const)
      if (typeof b?.[q] === 'number') out.push({ metric, label, quantile: q, boundMs: b[q] });
  }
  return out;
}

/**
 * The SLO term a chart of p99 latency draws: the first p99 bound, else the first bound (its line
 * is then labelled with its own quantile).
 */
export function sloTerm(slo: Slo | null | undefined): SloTerm | null {
  const all = sloTerms(slo);
  return all.find((t) => t.quantile === 'p99') ?? all[0] ?? null;
}

/** "TTFT p99 ≤ 800 ms, TPOT p90 ≤ 50 ms": every term, for a caption. */
export function sloText(slo: Slo | null | undefined): string {
  return sloTerms(slo)
    .map((t) => `${t.label} ${t.quantile} ≤ ${fmtNum(t.boundMs)} ms`)
    .join(', ');
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
          formatter: `SLO: ${term.label} ${term.quantile} ≤ ${fmtNum(term.boundMs)} ms${term.quantile === 'p99' ? '' : ' (curves: p99)'}`,
          position: 'insideStartTop',
          color: COLORS.slo,
        },
        data: [{ yAxis: term.boundMs }],
      },
    });
  // The latency axis holds every plotted p99 and the SLO bound, so the SLO line is always drawn.
  const lat = logSpanOf([
    ...runs.flatMap((r) => r.data.points.map((p) => Math.max(p99Of(p, metric), 0.01))),
    term?.boundMs,
  ]);
  return {
    ...base(),
    tooltip: unitTooltip('req/s', (n) => (n.startsWith('throughput') ? 'tok/s' : 'ms')),
    xAxis: { type: 'value', ...axisName('offered request rate (req/s)'), scale: true },
    yAxis: [
      { type: 'value', ...axisName('output tokens/s', { nameGap: 48 }) },
      { type: 'log', ...axisName(latName, { nameGap: 44 }), splitLine: { show: false }, ...lat },
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
    tooltip: unitTooltip('ms', () => 'of requests at or under it'),
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
    tooltip: unitTooltip('s', () => 'blocks'),
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
  const labels = g.thresholds.map((t) => String(Number(t.toFixed(3))));
  const chosenIdx =
    opts.chosen === undefined ? -1 : g.thresholds.findIndex((t) => Math.abs(t - opts.chosen!) < 1e-9);
  const data: Array<[number, number, number]> = [];
  let max = 1;
  g.values.forEach((row, l) =>
    row.forEach((v, ti) => {
      data.push([ti, l, Number(v.toFixed(3))]);
      max = Math.max(max, v);
    }),
  );
  return {
    grid: { left: 56, right: 96, top: 24, bottom: 52 },
    tooltip: {
      confine: true,
      formatter: (p: { value: [number, number, number] }) =>
        `layer ${p.value[1]}, threshold ${labels[p.value[0]]}: ${fmtNum(p.value[2])}x`,
    },
    xAxis: [
      {
        type: 'category',
        data: labels,
        ...axisName(
          `similarity threshold${
            chosenIdx >= 0
              ? ` (chosen: ${labels[chosenIdx]})`
              : opts.chosen !== undefined
                ? ` (chosen ${opts.chosen}: not a measured column)`
                : ''
          }`,
        ),
        splitArea: { show: true },
        axisLabel: {
          formatter: (v: string, i: number) => (i === chosenIdx ? `{c|${v}}` : v),
          rich: { c: { fontWeight: 'bold', color: COLORS.with } },
        },
      },
      // Column edges: a category axis rounds any number to a column's centre, so the chosen
      // column's outline is drawn on this hidden twin, where column i spans i - 0.5 to i + 0.5.
      { type: 'value', min: -0.5, max: labels.length - 0.5, show: false },
    ],
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
      },
      {
        name: 'chosen threshold',
        type: 'line',
        xAxisIndex: 1,
        data: [],
        markLine:
          chosenIdx >= 0
            ? {
                symbol: 'none',
                silent: true,
                lineStyle: { color: COLORS.with, width: 2, type: 'solid' },
                label: { show: false },
                data: [{ xAxis: chosenIdx - 0.5 }, { xAxis: chosenIdx + 0.5 }],
              }
            : undefined,
      },
    ],
  };
}

/** [min, max] holding every value with `pad` of the span either side; null without values. */
export function spanOf(
  values: Array<number | null | undefined>,
  pad = 0.08,
): { min: number; max: number } | null {
  const v = values.filter((x): x is number => typeof x === 'number' && Number.isFinite(x));
  if (!v.length) return null;
  const lo = Math.min(...v);
  const hi = Math.max(...v);
  const d = hi > lo ? (hi - lo) * pad : Math.abs(hi) * pad || 1;
  // Ends on a round step (a tenth of the span, rounded to 1, 2 or 5 times a power of ten), so
  // the axis labels its ends with round numbers.
  const raw = (hi - lo + 2 * d) / 10;
  const p10 = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * p10).find((x) => x >= raw * (1 - 1e-12))!;
  const round = (x: number) => Number(x.toPrecision(12));
  return { min: round(Math.floor((lo - d) / step) * step), max: round(Math.ceil((hi + d) / step) * step) };
}

/** The same on a log axis: every positive value inside, a factor `pad` of room, whole decades. */
export function logSpanOf(
  values: Array<number | null | undefined>,
  pad = 1.3,
): { min: number; max: number } | null {
  const v = values.filter((x): x is number => typeof x === 'number' && x > 0 && Number.isFinite(x));
  if (!v.length) return null;
  return {
    min: Number((10 ** Math.floor(Math.log10(Math.min(...v) / pad))).toPrecision(12)),
    max: Number((10 ** Math.ceil(Math.log10(Math.max(...v) * pad))).toPrecision(12)),
  };
}

interface ScatterPoint {
  x: number;
  y: number;
  t: number;
  /** The 95 % interval of y, where stored. */
  interval?: [number, number] | null;
}

/**
 * Throughput (x) against a figure of merit (y) per threshold: the points labelled with their
 * threshold, their intervals as whiskers, the front, the chosen threshold and the unfused
 * throughput as a vertical line that always lies inside the x axis.
 */
function thresholdScatter(o: {
  points: ScatterPoint[];
  front: ScatterPoint[];
  chosen: number;
  unfused: number | null | undefined;
  yName: string;
  yInverse: boolean;
  yText: (p: ScatterPoint) => string;
}): Option {
  const unfused = o.unfused && o.unfused > 0 ? o.unfused : null;
  const chosen = o.points.find((p) => Math.abs(p.t - o.chosen) < 1e-9);
  const item = (p: ScatterPoint) => ({ value: [p.x, p.y], t: p.t, ci: p.interval ?? null });
  const whiskers = o.points
    .filter((p) => p.interval)
    .map((p) => [{ coord: [p.x, p.interval![0]] }, { coord: [p.x, p.interval![1]] }]);
  const baseline = unfused
    ? [
        {
          xAxis: unfused,
          lineStyle: { color: COLORS.without, type: 'dashed' },
          label: {
            formatter: `no fusion ${fmtNum(unfused)} tok/s`,
            color: COLORS.without,
            position: 'insideEndTop',
          },
        },
      ]
    : [];
  return {
    ...base(),
    tooltip: {
      trigger: 'item',
      confine: true,
      formatter: (p: { data: { t: number; value: [number, number]; ci: [number, number] | null } }) =>
        `threshold ${p.data.t}: ${fmtNum(p.data.value[0])} tok/s, ${o.yText({ x: p.data.value[0], y: p.data.value[1], t: p.data.t, interval: p.data.ci })}`,
    },
    xAxis: {
      type: 'value',
      ...axisName('output tokens/s at capacity'),
      ...spanOf([...o.points.map((p) => p.x), unfused]),
    },
    yAxis: {
      type: 'value',
      ...axisName(o.yName, { nameGap: 48 }),
      inverse: o.yInverse,
      ...spanOf(o.points.flatMap((p) => [p.y, ...(p.interval ?? [])])),
    },
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
        data: o.points.map(item),
        markLine: {
          symbol: 'none',
          silent: true,
          lineStyle: { color: COLORS.muted, width: 1.5, type: 'solid' },
          label: { show: false },
          data: [...baseline, ...whiskers],
        },
      },
      {
        name: 'Pareto front',
        type: 'line',
        color: COLORS.with,
        symbol: 'circle',
        symbolSize: 7,
        data: o.front.map(item),
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
          formatter: `chosen ${o.chosen}`,
          color: COLORS.slo,
          fontWeight: 'bold',
        },
        data: chosen ? [item(chosen)] : [],
      },
    ],
  };
}

/** An axis name for a registered metric: its label, unit and direction. */
export function metricAxisName(t: Pick<MetricTradeoff, 'metric' | 'info'>): string {
  if (!t.info) return `${t.metric} (direction unknown)`;
  return `${t.info.label} (${t.info.unit}, ${t.info.higherIsBetter ? 'higher' : 'lower'} is better)`;
}

/**
 * Throughput against one measured accuracy metric across thresholds (`accuracyTradeoffs` of
 * @kvplan/core: stored values only, the front in the metric's own direction). The y axis is
 * turned over for a lower-is-better metric, so better is always up.
 */
export function tradeoffOption(
  t: MetricTradeoff,
  opts: { chosen: number; unfused: number | null | undefined },
): Option | null {
  if (!t.points.length) return null;
  const unit = t.info?.unit ?? '';
  const toPoint = (p: MetricTradeoff['points'][number]): ScatterPoint => ({
    x: p.outputThroughput,
    y: p.value,
    t: p.threshold,
    interval: p.interval,
  });
  return thresholdScatter({
    points: t.points.map(toPoint),
    front: t.front.map(toPoint),
    chosen: opts.chosen,
    unfused: opts.unfused,
    yName: metricAxisName(t),
    yInverse: t.info ? !t.info.higherIsBetter : false,
    yText: (p) =>
      `${t.info?.label ?? t.metric} ${fmtNum(p.y)}${unit ? ` ${unit}` : ''}${p.interval ? ` (95 % interval ${fmtNum(p.interval[0])} to ${fmtNum(p.interval[1])})` : ''}`,
  });
}

/**
 * Without a measured accuracy: throughput against the threshold itself (higher fuses less and
 * stays closer to the unfused model), its front by the registry's `fusion-threshold` direction.
 */
export function paretoOption(
  ts: ThresholdSweep | null,
  unfusedThroughput: number | null | undefined,
): Option | null {
  if (!ts || !ts.points.length) return null;
  const info = metricInfo('fusion-threshold')!;
  const pts: ScatterPoint[] = ts.points.map((p) => ({
    x: p.outputThroughput,
    y: p.threshold,
    t: p.threshold,
  }));
  const front = paretoFront(pts, [
    { value: (p) => p.x, higherIsBetter: true },
    { value: (p) => p.y, higherIsBetter: info.higherIsBetter },
  ]).sort((a, b) => a.x - b.x);
  return thresholdScatter({
    points: pts,
    front,
    chosen: ts.chosen,
    unfused: unfusedThroughput,
    yName: 'threshold (accuracy proxy: higher fuses less)',
    yInverse: false,
    yText: (p) => `threshold ${p.y} (no accuracy measured)`,
  });
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
  // An answer plan has no sweep to draw: its page is a sentence and a table (pages/answer.ts).
  const rows = plan.result && plan.result.mode !== 'answer' ? plan.result.points : [];
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
  const answer =
    plan.result && (plan.result.mode === 'max-rate' || plan.result.mode === 'min-gpus')
      ? plan.result.answer
      : null;
  const term = sloTerm(plan.slo);
  const num = (v: unknown) => (typeof v === 'number' ? v : null);
  // The latency drawn is the SLO term's own metric (rows keep its p99; a p90 or p50 bound is
  // labelled as such on its line).
  const metric = term?.metric ?? 'ttft';
  const latKey = `p99_${metric}_ms` as const;
  const latName = `p99 ${term?.label ?? 'TTFT'} (ms)`;
  const lat = sorted.map((r) => Math.max(num(r[latKey]) ?? 0.01, 0.01));
  const tput = [
    ...rows.map((r) => num(r.output_throughput)),
    baseline ? num(baseline.output_throughput) : null,
  ];
  const xUnit =
    plan.mode === 'max-rate' ? 'x the rate' : plan.mode === 'min-gpus' ? 'replicas' : '(threshold)';
  return {
    ...base(),
    tooltip: unitTooltip(xUnit, (n) => (n === latName ? 'ms' : 'tok/s')),
    xAxis: { type: 'value', ...axisName(xName), scale: true },
    yAxis: [
      {
        type: 'value',
        ...axisName('output tokens/s', { nameGap: 48 }),
        min: 0,
        max: niceCeil(Math.max(0, ...tput.filter((v): v is number => v !== null)) * 1.05),
      },
      {
        type: 'log',
        ...axisName(latName, { nameGap: 44 }),
        splitLine: { show: false },
        ...logSpanOf([...lat, term?.boundMs]),
      },
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
        name: latName,
        type: 'line',
        yAxisIndex: 1,
        color: COLORS.with,
        lineStyle: { type: 'dashed' },
        data: sorted.map((r, i) => [r[key], lat[i]]),
        markLine: term
          ? {
              symbol: 'none',
              silent: true,
              lineStyle: { color: COLORS.slo, type: 'dashed', width: 2 },
              label: {
                formatter: `SLO ${term.label} ${term.quantile} ≤ ${fmtNum(term.boundMs)} ms${term.quantile === 'p99' ? '' : ' (curve: p99)'}`,
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
