import { higherIsBetter, paretoFront, type Objective } from '@kvplan/core';
import type { CalibrationSource } from '../hardware/kernel-curves';
import { simulate } from '../engine/simulation';
import { ReqState } from '../engine/request-table';
import type { SimulationResult } from '../engine/simulation';
import { gpusPerReplica } from '../model/memory';
import type { ResolvedSpec, SloSpec, Workload } from '../types';

/** What one probe at an offered request rate found. */
export interface Probe {
  rate: number;
  meets: boolean;
  stable: boolean;
  /** Which SLO terms failed, e.g. `p99_ttft_ms 812 > 500`. */
  violations: string[];
  result: SimulationResult;
}

/** The workload's mean offered rate (requests per second over its arrival span). */
export function offeredRate(w: Workload): number {
  if (w.n < 2) return 1;
  const span = w.arrivalS[w.n - 1] - w.arrivalS[0];
  return span > 0 ? (w.n - 1) / span : Infinity;
}

/**
 * The workload repeated `times` times back to back (copies shifted by its span): how a test of n
 * replicas gives each replica as many requests as the one-replica test had.
 */
export function tile(w: Workload, times: number): Workload {
  if (times <= 1) return w;
  const span =
    w.n > 1 ? w.arrivalS[w.n - 1] - w.arrivalS[0] + (w.arrivalS[w.n - 1] - w.arrivalS[0]) / (w.n - 1) : 1;
  const n = w.n * times;
  const repeat = <T extends Int32Array | Float64Array>(a: T, make: (n: number) => T, shift: boolean): T => {
    const out = make(n);
    for (let k = 0; k < times; k++)
      for (let i = 0; i < w.n; i++) out[k * w.n + i] = shift ? a[i] + k * span : a[i];
    return out;
  };
  // Prefix groups stay shared across copies (the same prompts again); ids and stages are dropped.
  return {
    ...w,
    n,
    arrivalS: repeat(w.arrivalS, (m) => new Float64Array(m), true),
    inputTokens: repeat(w.inputTokens, (m) => new Int32Array(m), false),
    outputTokens: repeat(w.outputTokens, (m) => new Int32Array(m), false),
    prefixGroup: repeat(w.prefixGroup, (m) => new Int32Array(m), false),
    prefixTokens: repeat(w.prefixTokens, (m) => new Int32Array(m), false),
    tenant: repeat(w.tenant, (m) => new Int32Array(m), false),
    requestIds: undefined,
    stage: undefined,
  };
}

/** The same requests with arrival times compressed or stretched to a new mean rate. */
export function atRate(w: Workload, rate: number): Workload {
  const k = offeredRate(w) / rate;
  const t0 = w.arrivalS[0] ?? 0;
  const arrivalS = new Float64Array(w.n);
  for (let i = 0; i < w.n; i++) arrivalS[i] = t0 + (w.arrivalS[i] - t0) * k;
  return { ...w, arrivalS };
}

const SLO_TERMS: Array<[keyof SloSpec, string]> = [
  ['ttftMs', 'ttft'],
  ['tpotMs', 'tpot'],
  ['e2elMs', 'e2el'],
];

/** One SLO term checked against a result: `p99 TTFT 823/2000 ms ok`. */
export interface SloCheck {
  /** The result field, e.g. `p99_ttft_ms`. */
  metric: string;
  /** Human label, e.g. `p99 TTFT`. */
  label: string;
  /** NaN when the result lacks the metric (then not ok). */
  value: number;
  limit: number;
  ok: boolean;
}

/** Every percentile SLO term of `slo` checked against a result (or against means over seeds). */
export function sloChecks(
  r: Omit<SimulationResult, 'timeseries'> | Record<string, number>,
  slo: SloSpec,
): SloCheck[] {
  const out: SloCheck[] = [];
  for (const [key, metric] of SLO_TERMS) {
    const s = slo[key];
    if (!s) continue;
    for (const [pk, name] of [
      ['p99', 'p99'],
      ['p90', 'p90'],
      ['p50', 'median'],
    ] as const) {
      const limit = s[pk];
      if (limit === undefined) continue;
      const field = `${name}_${metric}_ms`;
      const v = (r as unknown as Record<string, number | undefined>)[field];
      // A metric a stored result lacks counts as not met.
      const value = typeof v === 'number' ? v : NaN;
      out.push({ metric: field, label: `${name} ${metric.toUpperCase()}`, value, limit, ok: value <= limit });
    }
  }
  return out;
}

/** Checks a result against percentile SLOs; returns the violated terms. */
export function sloViolations(r: Omit<SimulationResult, 'timeseries'>, slo: SloSpec): string[] {
  return sloChecks(r, slo)
    .filter((c) => !c.ok)
    .map((c) =>
      Number.isNaN(c.value) ? `${c.metric} missing` : `${c.metric} ${c.value.toFixed(1)} > ${c.limit}`,
    );
}

/**
 * A run is stable when its queue does not grow without bound: the mean TTFT of the last quarter
 * of arrivals is no more than twice (plus half a second) that of the second quarter, and every
 * request completed. An overloaded deployment fails this however long the run.
 */
export function isStable(spec: ResolvedSpec, run: ReturnType<typeof simulate>): boolean {
  const q = run.requests;
  const w = spec.workload;
  const n = w.n;
  if (n < 8) return run.result.failed === 0;
  const meanTtft = (from: number, to: number) => {
    let s = 0;
    let c = 0;
    for (let r = from; r < to; r++)
      if (q.state[r] === ReqState.Done) {
        s += q.firstTokenS[r] - w.arrivalS[r];
        c++;
      }
    return c ? s / c : Infinity;
  };
  const q2 = meanTtft(Math.floor(n / 4), Math.floor(n / 2));
  const q4 = meanTtft(Math.floor((3 * n) / 4), n);
  return run.result.failed === 0 && q4 <= Math.max(2 * q2, q2 + 0.5);
}

export interface GoodputTarget {
  /** Fraction of requests that must meet every SLO term individually (benchmark_serving goodput). */
  minGoodputFraction?: number;
}

/** How a probe judges and runs: the goodput target, and a hook on every simulator event. */
export interface ProbeOptions extends GoodputTarget {
  /** Called on every simulator event of every probe (a work budget may throw from it). */
  onEvent?: () => void;
}

/** Simulates the spec at `rate` and judges it against the SLOs. */
export function probeRate(spec: ResolvedSpec, rate: number, slo: SloSpec, target: ProbeOptions = {}): Probe {
  const s: ResolvedSpec = { ...spec, slo, workload: atRate(spec.workload, rate) };
  const run = simulate(s, target.onEvent ? { onEvent: target.onEvent } : {});
  const stable = isStable(s, run);
  const violations = target.minGoodputFraction !== undefined ? [] : sloViolations(run.result, slo);
  if (target.minGoodputFraction !== undefined) {
    const frac = (run.result.request_goodput ?? 0) / Math.max(run.result.request_throughput, 1e-12);
    if (frac < target.minGoodputFraction)
      violations.push(`goodput fraction ${frac.toFixed(3)} < ${target.minGoodputFraction}`);
  }
  if (!stable) violations.push('queue grows: the deployment cannot keep up with this rate');
  return { rate, meets: stable && violations.length === 0, stable, violations, result: run.result };
}

/** A probe without its full result: what searches report. */
export type ProbeSummary = Pick<Probe, 'rate' | 'meets' | 'stable' | 'violations'>;

export interface MaxRateResult {
  /** Highest rate found that meets the SLOs (0 when even the lowest probe fails). */
  maxRate: number;
  /** The probe at maxRate, or null. */
  atMax: Probe | null;
  /** The lowest failing rate found. */
  firstFailing: Probe | null;
  /**
   * When the first probe failed: the same requests at (near) zero load, none overlapping another.
   * If that fails too the configuration cannot meet the SLOs at any rate (`infeasible`), and its
   * violations name the binding metric.
   */
  zeroLoad: ProbeSummary | null;
  infeasible: boolean;
  /**
   * Bracketing stopped at a rate the workload is too short to measure (see requestsToMeasure):
   * how many requests a run at that rate would need. Null when every probe was measurable.
   */
  tooShort: { rate: number; requestsNeeded: number } | null;
  probes: ProbeSummary[];
}

/** The fewest requests a run may have, whatever the rate. */
export const MIN_MEASURING_REQUESTS = 200;
/** A run must hold this many times the requests in flight at once (Little's law) to be trusted. */
export const STEADY_STATE_FACTOR = 8;

/**
 * How many requests a run at `rate` needs for its percentiles and its queue-growth check to say
 * anything: at least MIN_MEASURING_REQUESTS, and STEADY_STATE_FACTOR times the requests in flight
 * at once (rate x mean end-to-end latency, Little's law). A shorter run ends before its queue can
 * build up: a 40-request workload then "meets" any rate, however absurd.
 */
export function requestsToMeasure(rate: number, meanE2elMs: number): number {
  const inFlight = rate * (Number.isFinite(meanE2elMs) ? meanE2elMs / 1000 : 0);
  return Math.max(MIN_MEASURING_REQUESTS, Math.ceil(STEADY_STATE_FACTOR * inFlight));
}

export interface SearchOptions extends ProbeOptions {
  relTolerance?: number;
  maxProbes?: number;
  start?: number;
  /** Called after every probe (for progress displays). */
  onProbe?: (p: ProbeSummary, probesSoFar: number, maxProbes: number) => void;
}

/**
 * Highest request rate meeting the SLOs, by bracketing (doubling from the spec's own rate) then
 * bisection to `relTolerance`. Assumes meeting the SLOs is monotone in the rate, which queueing
 * makes true up to simulation noise. A rate the workload is too short to measure is never
 * reported as met: bracketing stops below it and `tooShort` says how many requests it needs.
 */
export function searchMaxRate(spec: ResolvedSpec, slo: SloSpec, opts: SearchOptions = {}): MaxRateResult {
  const tol = opts.relTolerance ?? 0.02;
  const maxProbes = opts.maxProbes ?? 24;
  const n = spec.workload.n;
  const probes: Probe[] = [];
  /** Requests needed by met probes the workload cannot vouch for (treated as upper brackets). */
  const needs = new Map<Probe, number>();
  const summary = ({ rate: r, meets, stable, violations }: Probe): ProbeSummary => ({
    rate: r,
    meets,
    stable,
    violations,
  });
  const start = opts.start ?? Math.min(offeredRate(spec.workload), 1e6);
  if (n < MIN_MEASURING_REQUESTS)
    return {
      maxRate: 0,
      atMax: null,
      firstFailing: null,
      zeroLoad: null,
      infeasible: false,
      tooShort: { rate: start, requestsNeeded: MIN_MEASURING_REQUESTS },
      probes: [],
    };
  const probe = (rate: number) => {
    const p = probeRate(spec, rate, slo, opts);
    probes.push(p);
    opts.onProbe?.(summary(p), probes.length, maxProbes);
    if (p.meets) {
      const needed = requestsToMeasure(p.rate, p.result.mean_e2el_ms);
      if (needed > n) needs.set(p, needed);
    }
    return p;
  };
  const good = (p: Probe) => p.meets && !needs.has(p);
  let rate = start;
  let lo: Probe | null = null;
  let hi: Probe | null = null;
  let zeroLoad: Probe | null = null;
  let p = probe(rate);
  if (good(p)) {
    lo = p;
    while (probes.length < maxProbes) {
      rate *= 2;
      p = probe(rate);
      if (!good(p)) {
        hi = p;
        break;
      }
      lo = p;
    }
  } else {
    hi = p;
    if (!p.meets) {
      // Can it meet the SLOs at all? The same requests spaced so that none overlaps another.
      zeroLoad = probe(zeroLoadRate(p));
      if (!zeroLoad.meets) hi = null;
    }
    while (hi && probes.length < maxProbes && rate > 1e-3) {
      rate /= 2;
      p = probe(rate);
      if (good(p)) {
        lo = p;
        break;
      }
      hi = p;
    }
  }
  while (lo && hi && probes.length < maxProbes && (hi.rate - lo.rate) / lo.rate > tol) {
    p = probe(Math.sqrt(lo.rate * hi.rate));
    if (good(p)) lo = p;
    else hi = p;
  }
  const infeasible = zeroLoad !== null && !zeroLoad.meets;
  const hiNeeds = hi ? needs.get(hi) : undefined;
  return {
    maxRate: lo?.rate ?? 0,
    atMax: lo,
    firstFailing: infeasible ? zeroLoad : hi && !hi.meets ? hi : null,
    zeroLoad: zeroLoad && summary(zeroLoad),
    infeasible,
    tooShort: hi && hiNeeds !== undefined ? { rate: hi.rate, requestsNeeded: hiNeeds } : null,
    probes: probes.map(summary),
  };
}

/** A rate at which no request overlaps another: arrivals ten longest end-to-end latencies apart. */
function zeroLoadRate(p: Probe): number {
  const longestS = Math.max(p.result.p99_e2el_ms, p.result.mean_e2el_ms, 1) / 1000;
  return Math.min(p.rate / 2, 1 / (10 * longestS));
}

/** Fewest replicas that serve `rate` within the SLOs (null when maxReplicas is not enough). */
export function searchMinReplicas(
  spec: ResolvedSpec,
  rate: number,
  slo: SloSpec,
  opts: { maxReplicas?: number } & ProbeOptions = {},
): { replicas: number; gpus: number; probe: Probe } | null {
  const maxReplicas = opts.maxReplicas ?? 256;
  // Each replica sees as many requests as in a one-replica test, so runs of different sizes compare.
  const test = (n: number) =>
    probeRate({ ...spec, replicas: n, workload: tile(spec.workload, n) }, rate, slo, opts);
  let lo = 0;
  let hi = 1;
  let hiProbe = test(1);
  while (!hiProbe.meets) {
    if (hi >= maxReplicas) return null;
    lo = hi;
    hi = Math.min(hi * 2, maxReplicas);
    hiProbe = test(hi);
  }
  while (hi - lo > 1) {
    const mid = (lo + hi) >> 1;
    const p = test(mid);
    if (p.meets) {
      hi = mid;
      hiProbe = p;
    } else lo = mid;
  }
  return { replicas: hi, gpus: hi * gpusPerReplica(spec), probe: hiProbe };
}

/** One configuration of a sweep and what it can serve. */
export interface SweepPoint {
  label: string;
  gpu: string;
  tensorParallel: number;
  /** Pipeline stages (GPUs per replica: tensorParallel x pipelineParallel). */
  pipelineParallel: number;
  /** CPU KV offload per replica, GiB, or null without. */
  kvOffloadGiB: number | null;
  /** Data-parallel ranks per replica (a replica is tensorParallel x dataParallel GPUs). */
  dataParallel: number;
  /** Experts spread over the replica's GPUs (vLLM enable_expert_parallel). */
  expertParallel: boolean;
  maxNumSeqs: number;
  maxNumBatchedTokens: number;
  fusionThreshold: number | null;
  maxRatePerReplica: number;
  maxRatePerGpu: number;
  outputTokensPerSecondPerGpu: number;
  /** Cost per million output tokens at the highest rate, and per million input plus output tokens. */
  costPerMillionOutputTokensUsd: number | null;
  costPerMillionTotalTokensUsd: number | null;
  /**
   * False when the configuration cannot meet the SLOs at any rate (or cannot be deployed at all);
   * `limitedBy` then names the binding metric at zero load.
   */
  feasible: boolean;
  /** What stops a higher rate: the SLO terms violated just above it, or why it is infeasible. */
  limitedBy: string;
  /** Replicas (and GPUs) for the target rate, when one was given. */
  replicasForTarget: number | null;
  gpusForTarget: number | null;
  pareto: boolean;
  /** Where the GPU's kernel curves come from (kernel-measured, scaled from a sibling, datasheet only). */
  calibrated?: CalibrationSource;
}

/**
 * Marks the Pareto front (core's one dominance): a point is dominated when another serves at least
 * as many requests per GPU, costs no more per million tokens, and fuses no more aggressively (a
 * higher threshold is safer for accuracy; no fusion is safest), and is strictly better in one of
 * them. A missing cost never counts as free, and an infeasible configuration (one that meets the
 * SLOs at no rate, or cannot be deployed) is never on the front.
 */
export function markPareto(points: SweepPoint[]): SweepPoint[] {
  const front = new Set(paretoFront(points, SWEEP_OBJECTIVES, (p) => p.feasible && p.maxRatePerGpu > 0));
  for (const p of points) p.pareto = front.has(p);
  return points;
}

const SWEEP_OBJECTIVES: readonly Objective<SweepPoint>[] = [
  { value: (p) => p.maxRatePerGpu, higherIsBetter: higherIsBetter('max_rate_per_gpu') },
  {
    value: (p) => p.costPerMillionOutputTokensUsd,
    higherIsBetter: higherIsBetter('cost_per_million_output_tokens_usd'),
  },
  { value: (p) => p.fusionThreshold ?? 2, higherIsBetter: higherIsBetter('fusion-threshold') },
];
