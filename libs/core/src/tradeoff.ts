/**
 * Throughput against accuracy across fusion thresholds, one metric at a time: the series behind
 * every "what does fusion at t buy and cost" chart or table. Each metric keeps its own direction
 * (from the metric registry) and its measured values only: two metrics are never mixed and
 * nothing is interpolated, so what is drawn is what was stored.
 */
import type { AccuracyEntry } from './fusion-profile';
import { metricInfo, type MetricInfo } from './metrics';
import { paretoFront } from './pareto';

/** Throughput of the fused run at one threshold (a projection's threshold sweep). */
export interface ThroughputAtThreshold {
  threshold: number;
  outputThroughput: number;
}

export interface TradeoffPoint {
  threshold: number;
  /** Output tokens/s at this threshold. */
  outputThroughput: number;
  /** The stored accuracy value, as measured. */
  value: number;
  /** Its 95 % interval where the profile stored one. */
  interval: [number, number] | null;
  how: string;
}

export interface MetricTradeoff {
  metric: string;
  /** The registry's entry; null for a name the registry does not know (then no front is drawn). */
  info: MetricInfo | null;
  /** Every measured threshold that has a throughput, by threshold. */
  points: TradeoffPoint[];
  /** Points no other point beats on both throughput and this metric, by throughput. */
  front: TradeoffPoint[];
  /** Measured thresholds the sweep has no throughput for (left out of `points`). */
  unmatched: number[];
}

const TOL = 1e-9;

/**
 * One trade-off per metric of `accuracy` (in the order metrics first appear), joining each
 * measured value with the throughput at exactly its threshold.
 */
export function accuracyTradeoffs(
  sweep: readonly ThroughputAtThreshold[],
  accuracy: readonly AccuracyEntry[] | null | undefined,
): MetricTradeoff[] {
  const byMetric = new Map<string, AccuracyEntry[]>();
  for (const a of accuracy ?? []) {
    if (!Number.isFinite(a.value)) continue;
    const list = byMetric.get(a.metric) ?? [];
    list.push(a);
    byMetric.set(a.metric, list);
  }
  return [...byMetric].map(([metric, entries]) => {
    const info = metricInfo(metric);
    const points: TradeoffPoint[] = [];
    const unmatched: number[] = [];
    for (const a of [...entries].sort((x, y) => x.threshold - y.threshold)) {
      const s = sweep.find((p) => Math.abs(p.threshold - a.threshold) < TOL);
      if (!s) {
        unmatched.push(a.threshold);
        continue;
      }
      points.push({
        threshold: a.threshold,
        outputThroughput: s.outputThroughput,
        value: a.value,
        interval: a.interval ?? null,
        how: a.how,
      });
    }
    const front = info
      ? paretoFront(points, [
          { value: (p) => p.outputThroughput, higherIsBetter: true },
          { value: (p) => p.value, higherIsBetter: info.higherIsBetter },
        ]).sort((a, b) => a.outputThroughput - b.outputThroughput)
      : [];
    return { metric, info, points, front, unmatched };
  });
}

/** The stored accuracy entries at exactly threshold `t` (every metric measured there). */
export function accuracyAtThreshold(
  accuracy: readonly AccuracyEntry[] | null | undefined,
  t: number,
): AccuracyEntry[] {
  return (accuracy ?? []).filter((a) => Math.abs(a.threshold - t) < TOL);
}
