/**
 * Projection analysis: a run as the service stores it, the pair of runs as a projection's
 * result, SLO verdicts (sim's own sloViolations) and capacity answers (core's Pareto dominance).
 * What the worker used to compute itself; the CLI, the worker and the dashboard read the same.
 */
import {
  CAPACITY_SUMMARY_KEYS,
  higherIsBetter,
  metricInfo,
  paretoFront,
  type CapacityAnswer,
  type CapacityPoint,
  type CapacityRow,
  type FusionInfo,
  type KvMemory,
  type ProjectionAccuracy,
  type ProjectionCharts,
  type ProjectionResult,
  type ProjectionRun,
  type RunFusion,
  type RunMetrics,
  type SimulationResult,
  type SloSpec,
} from '@kvplan/core';
import { sloViolations } from '../capacity/search';
import { runSimulation, simulate } from '../engine/simulation';
import type { ResolvedSpec } from '../types';
import { chartProbes, runCharts, withSeries } from './charts';

/** A result without its time series (what a stored run carries). */
export function compact(result: SimulationResult): RunMetrics {
  const { timeseries: _ts, ...rest } = result;
  return rest;
}

/** The fusion a resolved spec simulates, as the result reports it (validated once, by the spec). */
export function runFusion(spec: ResolvedSpec): RunFusion | null {
  const f = spec.fusion;
  if (!f) return null;
  return {
    mode: f.mode,
    threshold: f.threshold,
    scope: f.scope,
    profileSource: f.profile?.source ?? 'parametric',
    accuracy: f.profile?.accuracy ?? null,
  };
}

/**
 * Simulates one run of a projection: the result, and with `charts` what the dashboard draws
 * (the main run takes 80 % of the progress, the sweeps share the rest).
 */
export function simulateRun(
  spec: ResolvedSpec,
  opts: { charts?: boolean; onProgress?: (fraction: number) => void; onEvent?: () => void } = {},
): ProjectionRun {
  const progress = opts.onProgress ?? (() => undefined);
  if (!opts.charts) {
    const result = runSimulation(spec, { onProgress: progress, onEvent: opts.onEvent });
    return { result: compact(result), charts: null, fusion: runFusion(spec) };
  }
  const withTs = withSeries(spec);
  const run = simulate(withTs, { onProgress: (f) => progress(0.8 * f), onEvent: opts.onEvent });
  const probes = chartProbes(withTs);
  let done = 0;
  const charts = runCharts(withTs, run, () => progress(0.8 + (0.2 * ++done) / probes));
  return { result: compact(run.result), charts, fusion: runFusion(spec) };
}

/** The dashboard's chart data of a projection, side by side without and with fusion. */
export function projectionCharts(
  without: ProjectionRun,
  withFusion: ProjectionRun | null,
): ProjectionCharts | null {
  const a = without.charts;
  if (!a) return null;
  const b = withFusion?.charts ?? null;
  return {
    version: 1,
    latencyCdf: { withoutFusion: a.latencyCdf, withFusion: b?.latencyCdf ?? null },
    kvBlocks: { withoutFusion: a.kvBlocks, withFusion: b?.kvBlocks ?? null },
    rateSweep: { withoutFusion: a.rateSweep, withFusion: b?.rateSweep ?? null },
    thresholdSweep: b?.thresholdSweep ?? null,
    fusionProfile: b?.fusionProfile ?? null,
  };
}

function kvMemory(m: RunMetrics): KvMemory {
  return {
    blocksTotal: m.kv_blocks_total ?? null,
    peakUsedBlocks: m.kv_peak_used_blocks ?? null,
    meanUsedFraction: m.kv_mean_used_fraction ?? null,
  };
}

/**
 * A projection's stored result: both runs, KV memory, throughput gain and the accuracy at the
 * chosen threshold with its source (measured on a model, else a proxy) and direction.
 */
export function projectionResult(
  without: ProjectionRun,
  withFusion: ProjectionRun | null,
  fusionProfileId: string | null = null,
): ProjectionResult {
  const a = without.result;
  const b = withFusion?.result ?? null;
  const f = withFusion?.fusion ?? null;
  const fusion: FusionInfo | null = f ? { ...f, fusionProfileId } : null;
  let accuracy: ProjectionAccuracy = { source: 'none' };
  const hit = f?.accuracy?.find((x) => Math.abs(x.threshold - f.threshold) < 1e-9);
  if (f && hit)
    accuracy = {
      source: f.profileSource === 'model' ? 'measured' : 'proxy',
      higherIsBetter: metricInfo(hit.metric)?.higherIsBetter ?? null,
      ...hit,
    };
  const tA = a.output_throughput;
  const tB = b?.output_throughput;
  const charts = projectionCharts(without, withFusion);
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

/** Whether a run completed every request and meets every bound of the SLO (sloViolations). */
export function meetsSlo(m: RunMetrics, slo: SloSpec | null): boolean {
  if ((m.failed ?? 0) > 0 || !(m.completed > 0)) return false;
  return !slo || sloViolations(m, slo).length === 0;
}

/**
 * The spec of one capacity sweep point: the base spec (as stored, before resolution) at a rate
 * multiple, with a replica count, or at a fusion threshold (null = fusion off); an answer plan's
 * point also names its deployment and TP degree.
 */
export function applyPoint(base: Record<string, unknown>, point: CapacityPoint): Record<string, unknown> {
  let spec: Record<string, unknown> = structuredClone(base);
  // An answer plan's configuration: its deployment's section in place of the base's, keeping the
  // plan's own workload, SLO, seed and fusion; then its TP degree.
  if (point.deployment) {
    const { workload, slo, seed, fusion } = spec;
    spec = {
      ...structuredClone(point.deployment),
      workload,
      ...(slo !== undefined && { slo }),
      ...(seed !== undefined && { seed }),
      ...(fusion !== undefined && { fusion }),
    };
  }
  if (typeof point.tensorParallel === 'number') spec.tensorParallel = point.tensorParallel;
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
  point: CapacityPoint;
  result: RunMetrics;
}

/** The capacity modes whose points are single simulations (an answer plan's are searches). */
export type SweepMode = Exclude<CapacityAnswer['mode'], 'answer'>;

/** Aggregates a capacity sweep's points into the plan's answer. */
export function capacityAnswer<M extends SweepMode>(
  mode: M,
  outcomes: PointOutcome[],
  slo: SloSpec | null,
  /** GPUs of one replica (tensorParallel x pipelineParallel x dataParallel). */
  gpusPerReplica: number,
): Extract<CapacityAnswer, { mode: M }> {
  return answerOf(mode, outcomes, slo, gpusPerReplica) as Extract<CapacityAnswer, { mode: M }>;
}

function answerOf(
  mode: SweepMode,
  outcomes: PointOutcome[],
  slo: SloSpec | null,
  gpusPerReplica: number,
): CapacityAnswer {
  const rows: CapacityRow[] = outcomes.map((o) => ({
    index: o.index,
    ...o.point,
    meetsSlo: meetsSlo(o.result, slo),
    ...summary(o.result),
  }));
  const ok = rows.filter((r) => r.meetsSlo);
  if (mode === 'max-rate') {
    const best = ok.sort((x, y) => (y.rateScale ?? 0) - (x.rateScale ?? 0))[0];
    return { mode, answer: best ?? null, points: rows };
  }
  if (mode === 'min-gpus') {
    const best = ok.sort((x, y) => (x.replicas ?? 0) - (y.replicas ?? 0))[0];
    return {
      mode,
      answer: best ? { ...best, gpus: (best.replicas ?? 1) * gpusPerReplica } : null,
      points: rows,
    };
  }
  // pareto (core's dominance): a higher threshold fuses less (closer to the unfused model); the
  // fused points that meet the SLO and that no other beats on throughput and threshold.
  const fused = rows.filter((r) => r.threshold !== null && r.threshold !== undefined);
  const front = paretoFront(
    fused,
    [
      { value: (r) => r.threshold, higherIsBetter: higherIsBetter('fusion-threshold') },
      { value: (r) => r.output_throughput, higherIsBetter: higherIsBetter('output_throughput') },
    ],
    (r) => r.meetsSlo,
  );
  return {
    mode,
    baseline: rows.find((r) => r.threshold === null) ?? null,
    front: front.sort((x, y) => (x.threshold ?? 0) - (y.threshold ?? 0)),
    points: rows,
  };
}

function summary(m: RunMetrics): Pick<CapacityRow, (typeof CAPACITY_SUMMARY_KEYS)[number]> {
  const out = {} as Pick<CapacityRow, (typeof CAPACITY_SUMMARY_KEYS)[number]>;
  for (const k of CAPACITY_SUMMARY_KEYS) {
    const v = m[k];
    out[k] = typeof v === 'number' ? v : null;
  }
  return out;
}
