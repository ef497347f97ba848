/**
 * Chart options that overlay two to four projections (or capacity plans) in one view. Pure
 * functions like options.ts: each item keeps one colour, its run without fusion is drawn solid and
 * its run with fusion dashed, so a curve is named by its colour and its dash alone.
 */
import {
  axisName,
  COLORS,
  fmtNum,
  logSpanOf,
  niceCeil,
  sloTerm,
  unitTooltip,
  type Option,
  type SloTerm,
} from './options';
import type { CapacityPlan, CapacityRow, KvSeries, LatencyCdf, Pair, RateSweep, Slo } from './types';

/** One colour per compared item (at most four), distinct from the SLO red. */
export const COMPARE_COLORS = ['#3b5bdb', '#e8590c', '#2b8a3e', '#ae3ec9'] as const;

/** At most this many items are compared at once. */
export const MAX_COMPARED = 4;

/** A compared item: its label and colour, and one of its data pairs. */
export interface Compared<T> {
  label: string;
  color: string;
  pair: Pair<T>;
}

/** A curve of the overlay: an item's run without fusion (solid) or with fusion (dashed). */
export interface CompareRun<T> {
  name: string;
  color: string;
  fused: boolean;
  data: T;
}

/** Every run of every item that has something to draw, in item order, unfused first. */
export function compareRuns<T>(items: Array<Compared<T>>, has: (t: T) => boolean): Array<CompareRun<T>> {
  const out: Array<CompareRun<T>> = [];
  for (const it of items) {
    const both = Boolean(it.pair.withoutFusion && it.pair.withFusion);
    for (const [data, fused] of [
      [it.pair.withoutFusion, false],
      [it.pair.withFusion, true],
    ] as const) {
      if (!data || !has(data)) continue;
      const suffix = both || fused ? (fused ? ' · fusion' : ' · no fusion') : '';
      out.push({ name: `${it.label}${suffix}`, color: it.color, fused, data });
    }
  }
  return out;
}

const frame = (): Option => ({
  grid: { left: 64, right: 64, top: 72, bottom: 48, containLabel: false },
  legend: { top: 4, type: 'scroll', textStyle: { fontSize: 11 } },
});

const line = (r: CompareRun<unknown>, data: unknown[], extra: Option = {}): Option => ({
  name: r.name,
  type: 'line',
  color: r.color,
  showSymbol: false,
  lineStyle: { type: r.fused ? 'dashed' : 'solid', width: 2 },
  data,
  ...extra,
});

/** The latency CDFs (`key`) of every item's runs in one chart; log x when the values span 50x. */
export function compareCdfOption(
  items: Array<Compared<LatencyCdf>>,
  key: keyof LatencyCdf,
  label: string,
): Option | null {
  const runs = compareRuns(
    items.map((i) => ({
      ...i,
      pair: {
        withoutFusion: i.pair.withoutFusion?.[key] ?? null,
        withFusion: i.pair.withFusion?.[key] ?? null,
      },
    })),
    (v) => v.length > 1,
  );
  if (!runs.length) return null;
  const all = runs.flatMap((r) => r.data).filter((v) => v > 0);
  const wide = all.length > 0 && Math.max(...all) / Math.min(...all) > 50;
  return {
    ...frame(),
    tooltip: unitTooltip('ms', () => 'of requests at or under it'),
    xAxis: { type: wide ? 'log' : 'value', ...axisName(`${label} (ms)`), scale: true },
    yAxis: { type: 'value', min: 0, max: 1, ...axisName('fraction of requests', { nameGap: 40 }) },
    series: runs.map((r) =>
      line(
        r,
        r.data
          .map((v, i) => [wide ? Math.max(v, 1e-3) : v, i / (r.data.length - 1)])
          .filter(([v]) => Number.isFinite(v)),
      ),
    ),
  };
}

const p99Of = (p: RateSweep['points'][number], metric: SloTerm['metric']) =>
  metric === 'ttft' ? p.p99TtftMs : metric === 'tpot' ? p.p99TpotMs : p.p99E2elMs;

/** Output throughput against offered request rate, every item's runs; its max rate in the SLO marked. */
export function compareThroughputOption(items: Array<Compared<RateSweep>>): Option | null {
  const runs = compareRuns(items, (r) => r.points.length > 0);
  if (!runs.length) return null;
  return {
    ...frame(),
    tooltip: unitTooltip('req/s', () => 'tok/s'),
    xAxis: { type: 'value', ...axisName('offered request rate (req/s)'), scale: true },
    yAxis: { type: 'value', min: 0, ...axisName('output tokens/s', { nameGap: 48 }) },
    series: runs.map((r) =>
      line(
        r,
        r.data.points.map((p) => [p.rate, p.outputThroughput]),
        {
          showSymbol: true,
          symbolSize: 5,
          markLine:
            r.data.maxRateMeetingSlo !== null
              ? {
                  symbol: 'none',
                  silent: true,
                  lineStyle: { color: r.color, type: r.fused ? 'dashed' : 'solid', width: 1 },
                  label: { formatter: `${fmtNum(r.data.maxRateMeetingSlo)}`, color: r.color },
                  data: [{ xAxis: r.data.maxRateMeetingSlo }],
                }
              : undefined,
        },
      ),
    ),
  };
}

/**
 * The p99 latency of the first SLO term's metric (TTFT without one) against offered rate, every
 * item's runs, log axis, with the SLO bound when the items share it.
 */
export function compareLatencyOption(
  items: Array<Compared<RateSweep>>,
  slos: Array<Slo | null | undefined>,
): Option | null {
  const runs = compareRuns(items, (r) => r.points.length > 0);
  if (!runs.length) return null;
  const terms = slos.map((s) => sloTerm(s));
  const term = terms[0] ?? null;
  const shared =
    term !== null &&
    terms.every(
      (t) => t && t.metric === term.metric && t.quantile === term.quantile && t.boundMs === term.boundMs,
    );
  const metric = term?.metric ?? 'ttft';
  const name = `p99 ${term?.label ?? 'TTFT'} (ms)`;
  const values = runs.flatMap((r) => r.data.points.map((p) => Math.max(p99Of(p, metric), 0.01)));
  return {
    ...frame(),
    tooltip: unitTooltip('req/s', () => 'ms'),
    xAxis: { type: 'value', ...axisName('offered request rate (req/s)'), scale: true },
    yAxis: {
      type: 'log',
      ...axisName(name, { nameGap: 44 }),
      ...logSpanOf([...values, shared ? term.boundMs : undefined]),
    },
    series: [
      ...runs.map((r) =>
        line(
          r,
          r.data.points.map((p) => [p.rate, Math.max(p99Of(p, metric), 0.01)]),
          { showSymbol: true, symbolSize: 5 },
        ),
      ),
      ...(shared
        ? [
            {
              name: 'SLO',
              type: 'line',
              color: COLORS.slo,
              data: [],
              markLine: {
                symbol: 'none',
                silent: true,
                lineStyle: { color: COLORS.slo, type: 'dotted', width: 2 },
                label: {
                  formatter: `SLO ${term.label} ${term.quantile} ≤ ${fmtNum(term.boundMs)} ms`,
                  position: 'insideStartTop',
                  color: COLORS.slo,
                },
                data: [{ yAxis: term.boundMs }],
              },
            },
          ]
        : []),
    ],
  };
}

/**
 * KV blocks in use over time as a share of each run's own blocks (deployments on different GPUs
 * or models have different totals, so the share is what compares); the tooltip keeps the share.
 */
export function compareKvOption(items: Array<Compared<KvSeries>>): Option | null {
  const runs = compareRuns(items, (s) => s.t.length > 0 && s.total > 0);
  if (!runs.length) return null;
  return {
    ...frame(),
    tooltip: unitTooltip('s', () => 'of its KV blocks'),
    xAxis: { type: 'value', ...axisName('time (s)') },
    yAxis: { type: 'value', min: 0, max: 1, ...axisName('share of KV blocks in use', { nameGap: 44 }) },
    series: runs.map((r) =>
      line(
        r,
        r.data.t.map((t, j) => [t, Number((r.data.used[j] / r.data.total).toPrecision(4))]),
      ),
    ),
  };
}

const PLAN_KEY = { 'max-rate': 'rateScale', 'min-gpus': 'replicas', pareto: 'threshold' } as const;
type SweepMode = keyof typeof PLAN_KEY;

/** Whether a plan's mode sweeps one variable (its points overlay); other modes have their own page. */
export const isSweepMode = (mode: string): mode is SweepMode => Object.hasOwn(PLAN_KEY, mode);

/** A sweep plan's rows, or none (a plan of another mode, or without a result yet). */
const sweepRows = (plan: CapacityPlan): CapacityRow[] =>
  isSweepMode(plan.mode) ? ((plan.result as { points?: CapacityRow[] } | null)?.points ?? []) : [];
const PLAN_X = {
  'max-rate': 'rate multiple of the workload',
  'min-gpus': 'replicas',
  pareto: 'fusion threshold',
} as const;

/**
 * Capacity plans of one mode: output throughput (solid, left axis) and p99 TTFT (dashed, right
 * log axis) against what the mode sweeps; null when none has points or the modes differ.
 */
export function comparePlansOption(
  plans: Array<{ label: string; color: string; plan: CapacityPlan }>,
): Option | null {
  const withRows = plans.filter((p) => sweepRows(p.plan).length);
  if (!withRows.length || new Set(withRows.map((p) => p.plan.mode)).size > 1) return null;
  const mode = withRows[0].plan.mode as SweepMode;
  const key = PLAN_KEY[mode];
  const num = (v: unknown) => (typeof v === 'number' ? v : null);
  const series: Option[] = [];
  const lat: number[] = [];
  let top = 0;
  for (const { label, color, plan } of withRows) {
    const rows = sweepRows(plan)
      .filter((r) => typeof r[key] === 'number')
      .sort((a, b) => (a[key] as number) - (b[key] as number));
    for (const r of rows) top = Math.max(top, num(r.output_throughput) ?? 0);
    series.push({
      name: `${label} · tok/s`,
      type: 'line',
      color,
      symbolSize: 7,
      data: rows.map((r) => ({
        value: [r[key], num(r.output_throughput)],
        itemStyle: { color: r.meetsSlo ? COLORS.ok : COLORS.bad },
      })),
    });
    const l = rows.map((r) => Math.max(num(r.p99_ttft_ms) ?? 0.01, 0.01));
    lat.push(...l);
    series.push({
      name: `${label} · p99 TTFT`,
      type: 'line',
      yAxisIndex: 1,
      color,
      lineStyle: { type: 'dashed' },
      symbol: 'emptyCircle',
      data: rows.map((r, i) => [r[key], l[i]]),
    });
  }
  return {
    ...frame(),
    tooltip: unitTooltip('', (n) => (n.endsWith('p99 TTFT') ? 'ms' : 'tok/s')),
    xAxis: { type: 'value', ...axisName(PLAN_X[mode]), scale: true },
    yAxis: [
      { type: 'value', min: 0, max: niceCeil(top * 1.05), ...axisName('output tokens/s', { nameGap: 48 }) },
      {
        type: 'log',
        ...axisName('p99 TTFT (ms)', { nameGap: 44 }),
        splitLine: { show: false },
        ...logSpanOf(lat),
      },
    ],
    series,
  };
}

/** What a compare link names: projection and plan ids, and what is wrong with it. */
export interface CompareSelection {
  projections: string[];
  plans: string[];
  problems: string[];
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * Reads `?projections=a,b&plans=c` (duplicates once, in order). Every problem is named: an id
 * that is not a UUID, fewer than two items or more than four. Ids that are well formed are kept
 * even when there are problems, so the page can list them.
 */
export function parseSelection(query: URLSearchParams): CompareSelection {
  const problems: string[] = [];
  const read = (key: 'projections' | 'plans', noun: string) => {
    const out: string[] = [];
    for (const raw of (query.get(key) ?? '').split(',')) {
      const id = raw.trim().toLowerCase();
      if (!id || out.includes(id)) continue;
      if (UUID.test(id)) out.push(id);
      else problems.push(`"${raw.trim().slice(0, 40)}" is not a ${noun} id (expected a UUID)`);
    }
    return out;
  };
  const projections = read('projections', 'projection');
  const plans = read('plans', 'capacity plan');
  const n = projections.length + plans.length;
  if (n > MAX_COMPARED)
    problems.push(`${n} items are selected: compare takes two to four (untick ${n - MAX_COMPARED}).`);
  else if (n < 2)
    problems.push(
      `${n === 0 ? 'Nothing is' : 'Only one item is'} selected: tick two to four projections or capacity plans in their lists.`,
    );
  return { projections, plans, problems };
}

/** The link that compares these ids. */
export function compareHash(sel: { projections: string[]; plans: string[] }): string {
  const q = new URLSearchParams();
  if (sel.projections.length) q.set('projections', sel.projections.join(','));
  if (sel.plans.length) q.set('plans', sel.plans.join(','));
  return `#/compare?${q.toString().replace(/%2C/g, ',')}`;
}
