import {
  workloadBreakdown,
  workloadStats,
  type LengthStats,
  type Workload,
  type WorkloadBreakdown,
} from '@kvplan/sim';

export interface Histogram {
  /** Left edges of the bins; `width` each. */
  edges: number[];
  width: number;
  counts: number[];
}

export interface WorkloadHistograms {
  requests: number;
  durationS: number;
  meanRate: number;
  /** Requests per second in each time bin (edges in seconds from the first arrival). */
  arrivals: { edges: number[]; width: number; ratePerS: number[] };
  inputTokens: Histogram & { mean: number; p50: number; p99: number };
  outputTokens: Histogram & { mean: number; p50: number; p99: number };
  tenants: string[];
  /** Requests, token share and prefix-hit potential per tenant and prefix group. */
  breakdown: WorkloadBreakdown;
}

/** A "nice" bin width (1, 2 or 5 times a power of ten) giving about `bins` bins over `span`. */
export function niceWidth(span: number, bins: number): number {
  if (!(span > 0)) return 1;
  const raw = span / bins;
  const p = 10 ** Math.floor(Math.log10(raw));
  const m = raw / p;
  return (m <= 1 ? 1 : m <= 2 ? 2 : m <= 5 ? 5 : 10) * p;
}

function histogram(values: ArrayLike<number>, bins: number, integer: boolean): Histogram {
  let lo = Infinity;
  let hi = -Infinity;
  for (let i = 0; i < values.length; i++) {
    lo = Math.min(lo, values[i]);
    hi = Math.max(hi, values[i]);
  }
  if (!Number.isFinite(lo)) return { edges: [], width: 1, counts: [] };
  let width = niceWidth(hi - lo, bins);
  if (integer) width = Math.max(1, Math.round(width));
  const start = Math.floor(lo / width) * width;
  const n = Math.max(1, Math.floor((hi - start) / width) + 1);
  const counts = new Array<number>(n).fill(0);
  for (let i = 0; i < values.length; i++) counts[Math.min(n - 1, Math.floor((values[i] - start) / width))]++;
  return { edges: counts.map((_, i) => Number((start + i * width).toPrecision(12))), width, counts };
}

/** Arrival-rate and length histograms of a materialised workload (what the workload page draws). */
export function workloadHistograms(w: Workload, bins = 60): WorkloadHistograms {
  const t0 = w.n ? w.arrivalS[0] : 0;
  const rel = new Float64Array(w.n);
  for (let i = 0; i < w.n; i++) rel[i] = w.arrivalS[i] - t0;
  const a = histogram(rel, bins, false);
  const st = workloadStats(w);
  const lengths = (l: LengthStats) => ({ mean: l.mean, p50: l.p50, p99: l.p99 });
  return {
    requests: st.count,
    durationS: st.durationS,
    meanRate: st.meanRatePerS ?? 0,
    arrivals: { edges: a.edges, width: a.width, ratePerS: a.counts.map((c) => c / a.width) },
    inputTokens: { ...histogram(w.inputTokens, bins, true), ...lengths(st.inputTokens) },
    outputTokens: { ...histogram(w.outputTokens, bins, true), ...lengths(st.outputTokens) },
    tenants: w.tenantNames,
    breakdown: workloadBreakdown(w),
  };
}
