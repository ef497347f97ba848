import { describe, expect, it } from 'vitest';
import { accuracyAtThreshold, accuracyTradeoffs, type AccuracyEntry } from '../src';

const sweep = [0.5, 0.6, 0.7, 0.8, 0.9].map((threshold) => ({
  threshold,
  // Fusing more (a lower threshold) frees more blocks: more throughput.
  outputThroughput: 2000 - threshold * 1000,
}));

// What a kv-sample profile stores: an error (lower is better) and an overlap (higher is better)
// at the same thresholds, in one list.
const entries: AccuracyEntry[] = [
  { threshold: 0.6, metric: 'attention-output-rel-error', value: 0.031, interval: [0.027, 0.035], how: 'kv' },
  { threshold: 0.6, metric: 'top8-attention-overlap', value: 0.91, interval: null, how: 'kv' },
  { threshold: 0.8, metric: 'attention-output-rel-error', value: 0.018, interval: [0.015, 0.021], how: 'kv' },
  { threshold: 0.8, metric: 'top8-attention-overlap', value: 0.95, interval: null, how: 'kv' },
  { threshold: 0.7, metric: 'attention-output-rel-error', value: 0.04, interval: null, how: 'kv' },
  { threshold: 0.9, metric: 'attention-output-rel-error', value: 0.012, interval: null, how: 'kv' },
  { threshold: 0.65, metric: 'attention-output-rel-error', value: 0.02, interval: null, how: 'kv' },
];

describe('accuracyTradeoffs', () => {
  const [err, overlap] = accuracyTradeoffs(sweep, entries);

  it('keeps one series per metric, with the stored values only', () => {
    expect(err.metric).toBe('attention-output-rel-error');
    expect(err.info?.higherIsBetter).toBe(false);
    expect(err.points.map((p) => [p.threshold, p.value])).toEqual([
      [0.6, 0.031],
      [0.7, 0.04],
      [0.8, 0.018],
      [0.9, 0.012],
    ]);
    expect(overlap.points.map((p) => p.value)).toEqual([0.91, 0.95]);
    // Nothing between the two metrics' scales (the old mixed interpolation showed 0.48).
    for (const p of err.points) expect(p.value).toBeLessThan(0.05);
    expect(err.points[0].interval).toEqual([0.027, 0.035]);
    expect(err.points[0].outputThroughput).toBe(1400);
  });

  it('leaves out a measured threshold the sweep did not run, and says so', () => {
    expect(err.unmatched).toEqual([0.65]);
  });

  it('builds the front with each metric its own direction', () => {
    // An error is better lower: 0.7 (more throughput than 0.8 but a larger error than 0.6, which
    // also has more throughput) is dominated by 0.6.
    expect(err.front.map((p) => p.threshold)).toEqual([0.9, 0.8, 0.6]);
    // Treated as higher-is-better the front would have kept 0.7 and dropped 0.8 and 0.9.
    expect(overlap.front.map((p) => p.threshold)).toEqual([0.8, 0.6]);
  });

  it('draws no front for a metric the registry does not know', () => {
    const [t] = accuracyTradeoffs(sweep, [
      { threshold: 0.6, metric: 'made-up', value: 1, interval: null, how: 'x' },
    ]);
    expect(t.info).toBeNull();
    expect(t.points).toHaveLength(1);
    expect(t.front).toEqual([]);
    expect(accuracyTradeoffs(sweep, null)).toEqual([]);
  });

  it('finds every metric measured at a threshold', () => {
    expect(accuracyAtThreshold(entries, 0.8).map((a) => a.metric)).toEqual([
      'attention-output-rel-error',
      'top8-attention-overlap',
    ]);
    expect(accuracyAtThreshold(null, 0.8)).toEqual([]);
  });
});
