/**
 * What the dashboard draws for one simulated run of a projection, computed next to the run (in
 * the simulation thread) from the resolved spec and the per-request records of `simulate()`:
 * latency quantile curves (CDFs), KV blocks in use over time, throughput and tail latency over
 * a sweep of request rates (with the highest rate meeting the SLO), and, for a fused run, a sweep
 * of fusion thresholds and the fusion profile's per-layer model. Pure functions, no I/O.
 */
import {
  higherIsBetter,
  metricInfo,
  paretoFront,
  type FusionProfile,
  type LatencyCdf,
  type ProfileForCharts,
  type RatePoint,
  type RateSweep,
  type RunCharts,
  type SloSpec,
  type ThresholdPoint,
  type ThresholdSweep,
} from '@kvplan/core';
import { atRate, isStable, offeredRate, sloViolations } from '../capacity/search';
import { parametricFusionProfile } from '../engine/fusion';
import { simulate, type SimulationRun } from '../engine/simulation';
import { percentileSorted } from '../metrics/stats';
import type { ResolvedSpec, Workload } from '../types';
import { selectRows } from '../workload';

/** Quantile levels of the stored CDF curves: 0, 0.01, ..., 1. */
export const CDF_LEVELS = Array.from({ length: 101 }, (_, i) => i / 100);
/** Most points kept of the KV time series. */
export const MAX_SERIES_POINTS = 300;
/** Requests simulated per sweep point (a stride sample of the workload when it has more). */
export const SWEEP_REQUESTS = 1500;
/** Offered-rate multiples of the rate sweep. */
export const RATE_MULTIPLES = [0.25, 0.5, 0.75, 1, 1.5, 2, 3, 4];
/** The threshold sweep offers this multiple of the workload's rate: a burst that saturates. */
export const SATURATION_FACTOR = 1000;
/** Thresholds of the fusion sweep (the run's own is added). */
export const THRESHOLDS = [0.5, 0.6, 0.7, 0.75, 0.8, 0.85, 0.9, 0.95];

/** Four significant digits: plenty for a chart, a third of the JSON. */
export function round4(x: number): number {
  if (!Number.isFinite(x) || x === 0) return x;
  return Number(x.toPrecision(4));
}

/** Linear-interpolated quantiles (numpy's default) of `values` at each level. */
export function quantiles(values: ArrayLike<number>, levels: number[]): number[] {
  if (values.length === 0) return [];
  const sorted = Float64Array.from(values).sort();
  return levels.map((q) => round4(percentileSorted(sorted, q * 100)));
}

/** Per-request TTFT, TPOT and E2E latency (ms) of the completed requests, as the result defines them. */
export function requestLatencies(run: SimulationRun): { ttft: number[]; tpot: number[]; e2el: number[] } {
  const w = run.spec.workload;
  const q = run.requests;
  const frontend = run.spec.timeModel.frontendOverheadS;
  const ttft: number[] = [];
  const tpot: number[] = [];
  const e2el: number[] = [];
  for (let r = 0; r < w.n; r++) {
    const first = q.firstTokenS[r];
    const finish = q.finishS[r];
    if (Number.isNaN(first) || Number.isNaN(finish)) continue;
    const t = (first - w.arrivalS[r] + frontend) * 1000;
    const e = (finish - w.arrivalS[r] + frontend) * 1000;
    ttft.push(t);
    e2el.push(e);
    if (q.numOutput[r] > 1) tpot.push((e - t) / (q.numOutput[r] - 1));
  }
  return { ttft, tpot, e2el };
}

export function latencyCdf(run: SimulationRun): LatencyCdf {
  const l = requestLatencies(run);
  return {
    ttftMs: quantiles(l.ttft, CDF_LEVELS),
    tpotMs: quantiles(l.tpot, CDF_LEVELS),
    e2elMs: quantiles(l.e2el, CDF_LEVELS),
  };
}

/** A time-series resolution giving a few hundred samples over the workload's arrival span. */
export function seriesResolution(w: Workload): number {
  const span = w.n > 1 ? w.arrivalS[w.n - 1] - w.arrivalS[0] : 1;
  return Math.max(span / 200, 0.01);
}

/** Downsamples by taking the largest value of each bucket (peaks matter for memory). */
export function downsampleMax(t: number[], v: number[], max: number): { t: number[]; used: number[] } {
  if (t.length <= max) return { t: t.map(round4), used: v.slice() };
  const k = Math.ceil(t.length / max);
  const outT: number[] = [];
  const outV: number[] = [];
  for (let i = 0; i < t.length; i += k) {
    let m = v[i];
    for (let j = i + 1; j < Math.min(i + k, t.length); j++) if (v[j] > m) m = v[j];
    outT.push(round4(t[i]));
    outV.push(m);
  }
  return { t: outT, used: outV };
}

/** Every `k`-th request of the workload (k chosen to keep at most `max`), the same columns. */
export function strideSample(w: Workload, max: number): Workload {
  if (w.n <= max) return w;
  const k = Math.ceil(w.n / max);
  const idx: number[] = [];
  for (let i = 0; i < w.n; i += k) idx.push(i);
  return selectRows(w, idx);
}

function probe(spec: ResolvedSpec, sample: Workload, rate: number, slo: SloSpec | null): RatePoint {
  const s: ResolvedSpec = { ...spec, timeseriesResolutionS: null, workload: atRate(sample, rate) };
  const run = simulate(s);
  const r = run.result;
  const stable = isStable(s, run);
  return {
    rate: round4(rate),
    requestThroughput: round4(r.request_throughput),
    outputThroughput: round4(r.output_throughput),
    p99TtftMs: round4(r.p99_ttft_ms),
    p99TpotMs: round4(r.p99_tpot_ms),
    p99E2elMs: round4(r.p99_e2el_ms),
    stable,
    meetsSlo: slo ? stable && sloViolations(r, slo).length === 0 : null,
  };
}

/** The workload's mean offered rate (1 req/s when it has no span). */
function ownRate(w: Workload): number {
  const r = offeredRate(w);
  return Number.isFinite(r) && r > 0 ? r : 1;
}

/**
 * Throughput and tail latency at multiples of the offered rate, on a stride sample of the
 * workload; with an SLO, the highest rate meeting it is bisected (geometrically, 4 probes)
 * between the last sweep point that meets it and the next that does not.
 */
export function rateSweep(spec: ResolvedSpec, onProbe: () => void = () => undefined): RateSweep {
  const sample = strideSample(spec.workload, SWEEP_REQUESTS);
  const base = ownRate(spec.workload);
  const slo = spec.slo;
  const points = RATE_MULTIPLES.map((m) => {
    const p = probe(spec, sample, base * m, slo);
    onProbe();
    return p;
  });
  let maxRate: number | null = null;
  if (slo) {
    let lastOk = -1;
    for (let i = 0; i < points.length; i++) if (points[i].meetsSlo) lastOk = i;
    if (lastOk >= 0) {
      let lo = points[lastOk].rate;
      let hi = lastOk + 1 < points.length ? points[lastOk + 1].rate : null;
      if (hi !== null) {
        for (let k = 0; k < 4; k++) {
          const mid = Math.sqrt(lo * hi);
          const p = probe(spec, sample, mid, slo);
          onProbe();
          points.push(p);
          if (p.meetsSlo) lo = mid;
          else hi = mid;
        }
      }
      maxRate = round4(lo);
    }
    points.sort((a, b) => a.rate - b.rate);
  }
  return { offeredRate: round4(base), requests: sample.n, points, maxRateMeetingSlo: maxRate };
}

/** Throughput, tail latency and blocks freed of the fused run at each threshold of the sweep. */
export function thresholdSweep(
  spec: ResolvedSpec,
  onProbe: () => void = () => undefined,
): ThresholdSweep | null {
  const fusion = spec.fusion;
  if (!fusion) return null;
  // Capacity, not the offered load: every sampled request arrives at once (a burst 1000x the
  // workload's rate), so throughput is what the deployment sustains with the KV cache full,
  // which is where fusion's freed blocks show. Under the offered load it would only echo it.
  const sample = atRate(
    strideSample(spec.workload, SWEEP_REQUESTS),
    ownRate(spec.workload) * SATURATION_FACTOR,
  );
  const accuracy = fusion.profile?.accuracy ?? null;
  // The sweep's one accuracy column is the profile's first metric; the others stay in the
  // profile's list (drawn one metric at a time, see accuracyTradeoffs in @kvplan/core).
  const accuracyMetric = accuracy && accuracy.length ? accuracy[0].metric : null;
  const thresholds = [
    ...new Set([...THRESHOLDS, fusion.threshold, ...(accuracy ?? []).map((a) => a.threshold)]),
  ].sort((a, b) => a - b);
  const unfused = simulate({ ...spec, timeseriesResolutionS: null, workload: sample, fusion: null });
  onProbe();
  const points = thresholds.map((threshold) => {
    const run = simulate({
      ...spec,
      timeseriesResolutionS: null,
      workload: sample,
      fusion: { ...fusion, threshold },
    });
    onProbe();
    const acc = accuracyAt(accuracy ?? [], threshold, accuracyMetric);
    return {
      threshold,
      outputThroughput: round4(run.result.output_throughput),
      p99TtftMs: round4(run.result.p99_ttft_ms),
      fusedFraction: round4(run.result.fusion?.fused_fraction ?? 0),
      accuracy: acc ? round4(acc.value) : null,
      accuracyInterpolated: acc?.interpolated ?? false,
    };
  });
  return {
    chosen: fusion.threshold,
    saturated: true,
    unfusedOutputThroughput: round4(unfused.result.output_throughput),
    accuracyMetric,
    accuracyHigherIsBetter: accuracyMetric ? (metricInfo(accuracyMetric)?.higherIsBetter ?? null) : null,
    points,
    front: thresholdFront(points, accuracyMetric),
  };
}

/**
 * The thresholds on the Pareto front of fused throughput and accuracy (in the metric's direction;
 * an unregistered metric counts as higher-is-better), or of throughput and the threshold itself
 * (higher fuses less) when no accuracy was measured. Ascending throughput.
 */
export function thresholdFront(points: ThresholdPoint[], accuracyMetric: string | null): number[] {
  const measured = accuracyMetric !== null && points.some((p) => p.accuracy !== null);
  const pts = measured ? points.filter((p) => p.accuracy !== null) : points;
  const second = measured
    ? {
        value: (p: ThresholdPoint) => p.accuracy,
        higherIsBetter: metricInfo(accuracyMetric!)?.higherIsBetter ?? true,
      }
    : { value: (p: ThresholdPoint) => p.threshold, higherIsBetter: higherIsBetter('fusion-threshold') };
  return paretoFront(pts, [
    { value: (p) => p.outputThroughput, higherIsBetter: higherIsBetter('output_throughput') },
    second,
  ])
    .sort((a, b) => a.outputThroughput - b.outputThroughput)
    .map((p) => p.threshold);
}

/**
 * Accuracy at `t`: measured there, else linear between the measured thresholds around it. With
 * `metric`, only that metric's entries count: two metrics are never interpolated between.
 */
export function accuracyAt(
  all: Array<{ threshold: number; value: number; metric?: string }>,
  t: number,
  metric: string | null = null,
): { value: number; interpolated: boolean } | null {
  const measured = metric === null ? all : all.filter((a) => a.metric === metric);
  const hit = measured.find((a) => Math.abs(a.threshold - t) < 1e-9);
  if (hit) return { value: hit.value, interpolated: false };
  const sorted = [...measured].sort((a, b) => a.threshold - b.threshold);
  for (let i = 1; i < sorted.length; i++) {
    const [lo, hi] = [sorted[i - 1], sorted[i]];
    if (lo.threshold < t && t < hi.threshold) {
      const f = (t - lo.threshold) / (hi.threshold - lo.threshold);
      return { value: lo.value + f * (hi.value - lo.value), interpolated: true };
    }
  }
  return null;
}

/** The profile's measured points at its largest batch (or window): what the heatmap shows. */
function largestBatchPoints(points: FusionProfile['points']): FusionProfile['points'] {
  if (!points.length) return [];
  const size = (p: FusionProfile['points'][number]) => p.batchSize ?? p.window ?? 0;
  const max = Math.max(...points.map(size));
  return points
    .filter((p) => size(p) === max)
    .map((p) => ({ ...p, survivingFraction: p.survivingFraction.map(round4) }));
}

function profileForCharts(spec: ResolvedSpec, run: SimulationRun): ProfileForCharts | null {
  const f = spec.fusion;
  if (!f) return null;
  const profile = f.profile ?? parametricFusionProfile(spec.model, f.mode, spec.engine.blockSize);
  const w = spec.workload;
  let tokens = 0;
  for (let r = 0; r < w.n; r++) tokens += w.inputTokens[r];
  // BFF fuses a running batch of sequences; CFF a window of chunks of one prompt.
  const cff = f.mode === 'cff';
  return {
    source: profile.source,
    numLayers: profile.numLayers,
    fusedLayers: profile.fusedLayers,
    rateDistortion: profile.rateDistortion,
    points: largestBatchPoints(profile.points ?? []),
    threshold: f.threshold,
    batchSize: cff ? f.window : Math.max(1, Math.round(run.result.mean_batch_size)),
    blocksPerSequence: cff
      ? Math.max(1, Math.floor(spec.engine.maxNumBatchedTokens / spec.engine.blockSize))
      : w.n
        ? Math.max(1, Math.floor(tokens / w.n / spec.engine.blockSize))
        : 1,
  };
}

/** The spec to simulate for the main run: the same, with a KV time series sampled. */
export function withSeries(spec: ResolvedSpec): ResolvedSpec {
  return spec.timeseriesResolutionS
    ? spec
    : { ...spec, timeseriesResolutionS: seriesResolution(spec.workload) };
}

/** Probes `runCharts` will simulate for this spec (for progress reporting). */
export function chartProbes(spec: ResolvedSpec): number {
  return RATE_MULTIPLES.length + (spec.slo ? 4 : 0) + (spec.fusion ? THRESHOLDS.length + 2 : 0);
}

/** Everything the dashboard draws for a run (the run simulated with `withSeries(spec)`). */
export function runCharts(spec: ResolvedSpec, run: SimulationRun, onProbe?: () => void): RunCharts {
  const ts = run.result.timeseries;
  return {
    latencyCdf: latencyCdf(run),
    kvBlocks: {
      ...(ts ? downsampleMax(ts.t, ts.kv_used_blocks, MAX_SERIES_POINTS) : { t: [], used: [] }),
      total: run.result.kv_blocks_total,
    },
    rateSweep: rateSweep(spec, onProbe),
    thresholdSweep: thresholdSweep(spec, onProbe),
    fusionProfile: profileForCharts(spec, run),
  };
}
