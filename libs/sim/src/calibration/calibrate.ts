import { simulate } from '../engine/simulation';
import { ReqState } from '../engine/request-table';
import { summarize } from '../metrics/stats';
import type { ResolvedSpec, TimeModelCoefficients } from '../types';
import { nelderMead } from '@kvplan/core';

/** Measured summary metrics, by benchmark_serving's names (ms and req/s). Absent ones are not scored. */
export type MeasuredMetrics = Partial<Record<ScoredMetric, number>>;

export const SCORED_METRICS = [
  'mean_ttft_ms',
  'median_ttft_ms',
  'p90_ttft_ms',
  'p99_ttft_ms',
  'mean_tpot_ms',
  'median_tpot_ms',
  'p90_tpot_ms',
  'mean_e2el_ms',
  'median_e2el_ms',
  'p90_e2el_ms',
  'p99_e2el_ms',
] as const;
export type ScoredMetric = (typeof SCORED_METRICS)[number];

/** One measured run: the deployment and workload it served, and what was measured. */
export interface CalibrationCase {
  id: string;
  spec: ResolvedSpec;
  measured: MeasuredMetrics;
  /** Workload rows to leave out of the simulated metrics (e.g. client timeouts), or null. */
  scoreMask?: Uint8Array | null;
  /** Seconds added to TTFT/E2E by the measuring client, when it differs from the coefficients' own. */
  frontendOverheadS?: number;
}

/** Which coefficients a fit may move (the others keep their starting values). */
export const FITTED_COEFFICIENTS = [
  'memEfficiency',
  'computeEfficiency',
  'attentionEfficiency',
  'stepOverheadS',
  'requestOverheadS',
  'prefillChunkOverheadS',
  'sampleOverheadS',
  'tokenOverheadS',
  'allReduceLatencyS',
  'frontendOverheadS',
] as const;

/**
 * The engine-side costs a roofline of the kernels misses: what the default fit on serving runs
 * moves, so that the per-GPU kernel curves stay as measured and these transfer across GPUs. The
 * per-layer cost stands for the small kernels outside the curves (norms, rotary, activation,
 * KV-cache write), the same on every GPU count; the per-all-reduce one for what tensor
 * parallelism adds beyond the measured collective (ranks reaching it at different times).
 */
export const ENGINE_COEFFICIENTS = [
  'stepOverheadS',
  'requestOverheadS',
  'prefillChunkOverheadS',
  'sampleOverheadS',
  'layerOverheadS',
  'allReduceLatencyS',
  'frontendOverheadS',
] as const;

type Fitted = (typeof FITTED_COEFFICIENTS)[number] | (typeof ENGINE_COEFFICIENTS)[number];

function encode(c: TimeModelCoefficients, keys: readonly Fitted[]): number[] {
  // Every coefficient through a log: kept positive. The efficiencies are serving's fractions of
  // the kernel-measured rates, 1 as measured, and may come out above 1.
  return keys.map((k) => Math.log(Math.max(c[k], 1e-9)));
}

function decode(x: number[], base: TimeModelCoefficients, keys: readonly Fitted[]): TimeModelCoefficients {
  const out = { ...base };
  keys.forEach((k, i) => {
    out[k] = Math.exp(x[i]);
  });
  return out;
}

/**
 * The scored metrics of per-request samples (ms), as benchmark_serving summarises them; the TPOT
 * ones are left out when no request produced more than one token.
 */
export function scoredMetricsOf(
  ttftMs: number[],
  tpotMs: number[],
  e2elMs: number[],
): Record<ScoredMetric, number> {
  const T = summarize(Float64Array.from(ttftMs));
  const P = summarize(Float64Array.from(tpotMs));
  const E = summarize(Float64Array.from(e2elMs));
  const out: Partial<Record<ScoredMetric, number>> = {
    mean_ttft_ms: T.mean,
    median_ttft_ms: T.median,
    p90_ttft_ms: T.p90,
    p99_ttft_ms: T.p99,
    mean_e2el_ms: E.mean,
    median_e2el_ms: E.median,
    p90_e2el_ms: E.p90,
    p99_e2el_ms: E.p99,
  };
  if (tpotMs.length > 0)
    Object.assign(out, { mean_tpot_ms: P.mean, median_tpot_ms: P.median, p90_tpot_ms: P.p90 });
  return out as Record<ScoredMetric, number>;
}

/** Simulates a case with the given coefficients and returns its scored metrics. */
export function simulateCase(
  c: CalibrationCase,
  coefficients: TimeModelCoefficients,
): Record<ScoredMetric, number> {
  const frontend = c.frontendOverheadS ?? coefficients.frontendOverheadS;
  const spec: ResolvedSpec = { ...c.spec, timeModel: { ...coefficients, frontendOverheadS: frontend } };
  const run = simulate(spec);
  const w = spec.workload;
  const q = run.requests;
  const ttft: number[] = [];
  const tpot: number[] = [];
  const e2el: number[] = [];
  for (let r = 0; r < q.n; r++) {
    if (q.state[r] !== ReqState.Done || (c.scoreMask && !c.scoreMask[r])) continue;
    const t = (q.firstTokenS[r] - w.arrivalS[r] + frontend) * 1000;
    const e = (q.finishS[r] - w.arrivalS[r] + frontend) * 1000;
    ttft.push(t);
    e2el.push(e);
    if (q.numOutput[r] > 1) tpot.push((e - t) / (q.numOutput[r] - 1));
  }
  return scoredMetricsOf(ttft, tpot, e2el);
}

export interface CaseError {
  id: string;
  simulated: Record<ScoredMetric, number>;
  measured: MeasuredMetrics;
  /** Relative error (sim - measured) / measured per scored metric. */
  relativeError: Partial<Record<ScoredMetric, number>>;
}

export function caseError(c: CalibrationCase, coefficients: TimeModelCoefficients): CaseError {
  const simulated = simulateCase(c, coefficients);
  const relativeError: Partial<Record<ScoredMetric, number>> = {};
  for (const m of SCORED_METRICS) {
    const v = c.measured[m];
    if (v !== undefined && v > 0) relativeError[m] = (simulated[m] - v) / v;
  }
  return { id: c.id, simulated, measured: c.measured, relativeError };
}

/** Mean squared log-ratio of simulated to measured metrics over the cases: the fit's loss. */
export function calibrationLoss(cases: CalibrationCase[], coefficients: TimeModelCoefficients): number {
  let sum = 0;
  let count = 0;
  for (const c of cases) {
    const s = simulateCase(c, coefficients);
    for (const m of SCORED_METRICS) {
      const v = c.measured[m];
      if (v === undefined || !(v > 0)) continue;
      const ratio = Math.log(Math.max(s[m], 1e-6) / v);
      sum += ratio * ratio;
      count++;
    }
  }
  return count > 0 ? sum / count : 0;
}

export interface CalibrationFit {
  coefficients: TimeModelCoefficients;
  loss: number;
  evaluations: number;
}

/** Fits the step-time coefficients to measured runs by minimising calibrationLoss. */
export function fitTimeModel(
  cases: CalibrationCase[],
  start: TimeModelCoefficients,
  opts: {
    maxEvals?: number;
    name?: string;
    onEval?: (loss: number, evals: number) => void;
    keys?: readonly Fitted[];
  } = {},
): CalibrationFit {
  const keys = opts.keys ?? FITTED_COEFFICIENTS;
  let evals = 0;
  const res = nelderMead(
    (x) => {
      const loss = calibrationLoss(cases, decode(x, start, keys));
      opts.onEval?.(loss, ++evals);
      return loss;
    },
    encode(start, keys),
    { maxEvals: opts.maxEvals ?? 150, step: 0.7 },
  );
  return {
    coefficients: { ...decode(res.x, start, keys), name: opts.name ?? start.name },
    loss: res.value,
    evaluations: res.evals,
  };
}
