import { describe, expect, it } from 'vitest';
import { Xoshiro128ss } from '@kvplan/core';
import { argsortNonNegative, percentileSorted, summarize, summarizeWeighted } from '../src/metrics/stats';

describe('statistics as benchmark_serving computes them', () => {
  it('percentiles interpolate linearly like numpy', () => {
    // numpy.percentile([1, 2, 3, 4], 90) == 3.7; numpy.percentile(range(1, 11), 99) == 9.91
    expect(percentileSorted(Float64Array.from([1, 2, 3, 4]), 90)).toBeCloseTo(3.7, 12);
    expect(percentileSorted(Float64Array.from([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]), 99)).toBeCloseTo(9.91, 12);
    const s = summarize(Float64Array.from([4, 1, 3, 2]));
    expect(s.mean).toBe(2.5);
    expect(s.median).toBe(2.5);
    expect(s.std).toBeCloseTo(Math.sqrt(1.25), 12); // population std, numpy's default
  });

  it('weighted summaries equal the summaries of the expanded list', () => {
    const rng = new Xoshiro128ss(3);
    const n = 5000;
    const values = new Float64Array(n);
    const weights = new Float64Array(n);
    const expanded: number[] = [];
    for (let i = 0; i < n; i++) {
      values[i] = rng.next() < 0.1 ? 0 : Math.round(rng.next() * 1000) / 10; // ties and zeros
      weights[i] = rng.int(0, 5);
      for (let k = 0; k < weights[i]; k++) expanded.push(values[i]);
    }
    const a = summarizeWeighted(values, weights, n);
    const b = summarize(Float64Array.from(expanded));
    for (const key of ['mean', 'median', 'std', 'p90', 'p99'] as const) expect(a[key]).toBeCloseTo(b[key], 9);
  });

  it('the radix argsort orders non-negative doubles exactly and stably', () => {
    const rng = new Xoshiro128ss(9);
    const n = 20000;
    const v = new Float64Array(n);
    for (let i = 0; i < n; i++) v[i] = rng.next() < 0.2 ? rng.int(0, 3) : rng.next() * 10 ** rng.int(-6, 6);
    const order = argsortNonNegative(v, n);
    const reference = Array.from({ length: n }, (_, i) => i).sort((a, b) => v[a] - v[b] || a - b);
    expect(Array.from(order)).toEqual(reference);
  });
});
