import type { Workload } from '../types';
import { csvField } from './csv';

/**
 * Writes a workload as a kvplan trace CSV (it reads back to the same workload). Optional columns
 * appear only when the workload has them: request_id, tenant, prefix_group + prefix_tokens,
 * stage. Arrival times are written in JavaScript's shortest round-trip form, so they read back
 * bit for bit.
 */
export function workloadToCsv(w: Workload): string {
  const ids = w.requestIds;
  const hasTenant = w.tenantNames.length > 0;
  const hasGroup = w.prefixGroupNames.length > 0;
  const stage = w.stage;
  const header = ['arrival_time_s', 'input_tokens', 'output_tokens'];
  if (ids) header.push('request_id');
  if (hasTenant) header.push('tenant');
  if (hasGroup) header.push('prefix_group', 'prefix_tokens');
  if (stage) header.push('stage');
  const tenantCells = w.tenantNames.map(csvField);
  const groupCells = w.prefixGroupNames.map(csvField);
  const lines: string[] = new Array(w.n + 1);
  lines[0] = header.join(',');
  for (let i = 0; i < w.n; i++) {
    let s = `${w.arrivalS[i]},${w.inputTokens[i]},${w.outputTokens[i]}`;
    if (ids) s += ',' + csvField(ids[i]);
    if (hasTenant) s += ',' + (w.tenant[i] >= 0 ? tenantCells[w.tenant[i]] : '');
    if (hasGroup) {
      const g = w.prefixGroup[i];
      s += g >= 0 ? `,${groupCells[g]},${w.prefixTokens[i]}` : ',,';
    }
    if (stage) s += ',' + (stage[i] >= 0 ? String(stage[i]) : '');
    lines[i + 1] = s;
  }
  return lines.join('\n') + '\n';
}

export interface LengthStats {
  mean: number;
  min: number;
  max: number;
  p50: number;
  p90: number;
  p99: number;
}

export interface WorkloadStats {
  count: number;
  /** Last arrival minus first arrival, seconds. */
  durationS: number;
  /** Requests per second: 1 / the mean gap between arrivals ((count - 1) / durationS); null when every request arrives at once. */
  meanRatePerS: number | null;
  inputTokens: LengthStats;
  outputTokens: LengthStats;
  totalInputTokens: number;
  totalOutputTokens: number;
  tenants: number;
  prefixGroups: number;
  /** Share of all prompt tokens that lie in a declared shared prefix. */
  prefixTokenFraction: number;
}

/** Summary numbers for CLI output. Percentiles interpolate linearly, as numpy's default. */
export function workloadStats(w: Workload): WorkloadStats {
  const n = w.n;
  const durationS = n > 0 ? w.arrivalS[n - 1] - w.arrivalS[0] : 0;
  let totalIn = 0;
  let totalOut = 0;
  let prefix = 0;
  for (let i = 0; i < n; i++) {
    totalIn += w.inputTokens[i];
    totalOut += w.outputTokens[i];
    if (w.prefixGroup[i] >= 0) prefix += w.prefixTokens[i];
  }
  return {
    count: n,
    durationS,
    meanRatePerS: durationS > 0 ? (n - 1) / durationS : null,
    inputTokens: lengthStats(w.inputTokens, totalIn),
    outputTokens: lengthStats(w.outputTokens, totalOut),
    totalInputTokens: totalIn,
    totalOutputTokens: totalOut,
    tenants: countUsed(w.tenant),
    prefixGroups: countUsed(w.prefixGroup),
    prefixTokenFraction: totalIn > 0 ? prefix / totalIn : 0,
  };
}

function countUsed(col: Int32Array): number {
  const seen = new Set<number>();
  for (let i = 0; i < col.length; i++) if (col[i] >= 0) seen.add(col[i]);
  return seen.size;
}

function lengthStats(col: Int32Array, total: number): LengthStats {
  const n = col.length;
  if (n === 0) return { mean: 0, min: 0, max: 0, p50: 0, p90: 0, p99: 0 };
  const sorted = col.slice().sort();
  return {
    mean: total / n,
    min: sorted[0],
    max: sorted[n - 1],
    p50: percentileSorted(sorted, 50),
    p90: percentileSorted(sorted, 90),
    p99: percentileSorted(sorted, 99),
  };
}

/** Percentile q (0..100) of sorted values, linear interpolation between ranks (numpy's default). */
export function percentileSorted(sorted: ArrayLike<number>, q: number): number {
  const n = sorted.length;
  if (n === 0) return NaN;
  const r = (q / 100) * (n - 1);
  const lo = Math.floor(r);
  const hi = Math.min(n - 1, lo + 1);
  return sorted[lo] + (sorted[hi] - sorted[lo]) * (r - lo);
}
