/** Pure helpers that turn simulation results into stored projections and capacity answers. */
import { higherIsBetter, paretoFront } from '@kvplan/core';

type Metrics = Record<string, unknown>;
export type Slo = Partial<
  Record<'ttftMs' | 'tpotMs' | 'e2elMs', Partial<Record<'p50' | 'p90' | 'p99', number>>>
>;

/** Drops bulky fields (time series, chart data) that a stored run's metrics do not carry. */
export function compact(result: Metrics): Metrics {
  const { timeseries: _ts, charts: _charts, ...rest } = result;
  return rest;
}

type RunChartsLike = Record<string, unknown> & { thresholdSweep?: unknown; fusionProfile?: unknown };

/**
 * The dashboard's chart data of a projection (from the runs' `charts`, see sim/projection-charts.ts),
 * side by side without and with fusion; null when the runs were made without charts. Curves are
 * arrays at the levels `i / (length - 1)`.
 */
export function projectionCharts(withoutFusion: Metrics, withFusion: Metrics | null): Metrics | null {
  const a = withoutFusion.charts as RunChartsLike | undefined;
  if (!a) return null;
  const b = (withFusion?.charts as RunChartsLike | undefined) ?? null;
  const pair = (k: string) => ({ withoutFusion: a[k] ?? null, withFusion: b ? (b[k] ?? null) : null });
  return {
    version: 1,
    latencyCdf: pair('latencyCdf'),
    kvBlocks: pair('kvBlocks'),
    rateSweep: pair('rateSweep'),
    thresholdSweep: b?.thresholdSweep ?? null,
    fusionProfile: b?.fusionProfile ?? null,
  };
}

const num = (m: Metrics | null, k: string): number | null =>
  m && typeof m[k] === 'number' ? (m[k] as number) : null;

function kvMemory(m: Metrics) {
  return {
    blocksTotal: num(m, 'kv_blocks_total'),
    peakUsedBlocks: num(m, 'kv_peak_used_blocks'),
    meanUsedFraction: num(m, 'kv_mean_used_fraction'),
  };
}

export interface FusionInfo {
  mode: string;
  threshold: number;
  scope: string;
  /** Where the fusion profile came from (`parametric` when none was built for this workload). */
  profileSource: string;
  /** The stored fusion profile used (POST /fusion-profiles), or null for the parametric one. */
  fusionProfileId?: string | null;
  /** kvplan-fusion-profile/1 accuracy entries, when the profile has them. */
  accuracy: Array<{ threshold: number; metric: string; value: number; how: string }> | null;
}

/** A projection's stored result: both runs, KV memory, throughput gain and accuracy with its source. */
export function projectionResult(
  withoutFusion: Metrics,
  withFusion: Metrics | null,
  fusion: FusionInfo | null,
): Metrics {
  const a = compact(withoutFusion);
  const b = withFusion ? compact(withFusion) : null;
  const tA = num(a, 'output_throughput');
  const tB = num(b, 'output_throughput');
  let accuracy: Metrics = { source: 'none' };
  if (fusion?.accuracy) {
    const hit = fusion.accuracy.find((x) => Math.abs(x.threshold - fusion.threshold) < 1e-9);
    if (hit) accuracy = { source: fusion.profileSource === 'model' ? 'measured' : 'proxy', ...hit };
  }
  const charts = projectionCharts(withoutFusion, withFusion);
  return {
    withoutFusion: a,
    withFusion: b,
    kvMemory: { withoutFusion: kvMemory(a), withFusion: b ? kvMemory(b) : null },
    throughputGain: tA && tB ? tB / tA : null,
    fusion,
    accuracy,
    ...(charts && { charts }),
  };
}

const QUANTILE_KEY = { p50: 'median', p90: 'p90', p99: 'p99' } as const;
const METRIC_KEY = { ttftMs: 'ttft', tpotMs: 'tpot', e2elMs: 'e2el' } as const;

/** Whether a result meets every bound of the SLO (and completed every request). */
export function meetsSlo(m: Metrics, slo: Slo | null): boolean {
  if ((num(m, 'failed') ?? 0) > 0 || (num(m, 'completed') ?? 0) === 0) return false;
  if (!slo) return true;
  for (const [metric, bounds] of Object.entries(slo) as Array<[keyof typeof METRIC_KEY, Slo['ttftMs']]>) {
    for (const [q, bound] of Object.entries(bounds ?? {}) as Array<[keyof typeof QUANTILE_KEY, number]>) {
      const v = num(m, `${QUANTILE_KEY[q]}_${METRIC_KEY[metric]}_ms`);
      if (v === null || v > bound) return false;
    }
  }
  return true;
}

/** The spec of one sweep point: a rate multiple, a replica count, or a fusion threshold (null = off). */
export function applyPoint(
  base: Record<string, unknown>,
  point: Record<string, unknown>,
): Record<string, unknown> {
  const spec: Record<string, unknown> = structuredClone(base);
  if (typeof point.rateScale === 'number') {
    const s = point.rateScale;
    const w = spec.workload as Record<string, unknown>;
    if (typeof w.trace === 'string') w.timeScale = ((w.timeScale as number | undefined) ?? 1) / s;
    else {
      const arrival = w.arrival as Record<string, unknown> | undefined;
      if (arrival && typeof arrival.rate === 'number') arrival.rate = arrival.rate * s;
      if (Array.isArray(w.stages))
        w.stages = (w.stages as Array<Record<string, unknown>>).map((st) => ({
          ...st,
          rate: (st.rate as number) * s,
        }));
    }
  }
  if (typeof point.replicas === 'number') spec.replicas = point.replicas;
  if ('threshold' in point) {
    if (point.threshold === null) delete spec.fusion;
    else if (spec.fusion) spec.fusion = { ...(spec.fusion as object), threshold: point.threshold };
  }
  return spec;
}

export interface PointOutcome {
  index: number;
  point: Record<string, unknown>;
  result: Metrics;
}

const SUMMARY_KEYS = [
  'request_throughput',
  'request_goodput',
  'output_throughput',
  'p99_ttft_ms',
  'p99_tpot_ms',
  'p99_e2el_ms',
  'kv_peak_used_blocks',
  'preemptions',
  'completed',
  'failed',
];

/** Aggregates a capacity sweep into the plan's answer. */
export function capacityAnswer(
  mode: string,
  outcomes: PointOutcome[],
  slo: Slo | null,
  tensorParallel: number,
): Metrics {
  type Row = Record<string, unknown> & { meetsSlo: boolean };
  const rows: Row[] = outcomes.map((o) => ({
    index: o.index,
    ...o.point,
    meetsSlo: meetsSlo(o.result, slo),
    ...Object.fromEntries(SUMMARY_KEYS.map((k) => [k, num(o.result, k)])),
  }));
  if (mode === 'max-rate') {
    const ok = rows
      .filter((r) => r.meetsSlo)
      .sort((x, y) => (y.rateScale as number) - (x.rateScale as number));
    return { mode, answer: ok[0] ?? null, points: rows };
  }
  if (mode === 'min-gpus') {
    const ok = rows.filter((r) => r.meetsSlo).sort((x, y) => (x.replicas as number) - (y.replicas as number));
    const best = ok[0];
    return {
      mode,
      answer: best ? { ...best, gpus: (best.replicas as number) * tensorParallel } : null,
      points: rows,
    };
  }
  // pareto (core's dominance): higher threshold fuses less (closer to the unfused model); keep
  // the fused points that meet the SLO and that no other beats on throughput and threshold.
  const fused = rows.filter((r) => r.threshold !== null);
  const thr = (r: Row) => r.threshold as number;
  const front = paretoFront(
    fused,
    [
      { value: thr, higherIsBetter: higherIsBetter('fusion-threshold') },
      {
        value: (r) => r.output_throughput as number | null,
        higherIsBetter: higherIsBetter('output_throughput'),
      },
    ],
    (r) => r.meetsSlo,
  );
  return {
    mode,
    baseline: rows.find((r) => r.threshold === null) ?? null,
    front: front.sort((x, y) => thr(x) - thr(y)),
    points: rows,
  };
}
