import { describe, expect, it } from 'vitest';
import { GapRecorder } from '../src/engine/gap-recorder';
import { summarize } from '../src/metrics/stats';

describe('gap recorder', () => {
  it('summarises every weighted gap across its storage chunks like the expanded list, and drops zero weights', () => {
    const g = new GapRecorder();
    const n = 300_000; // more than two chunks
    const expanded: number[] = [];
    for (let i = 0; i < n; i++) {
      const value = ((i * 7919) % 100_003) * 1e-5; // unordered, with ties across chunks
      const weight = (i % 3) + 1;
      g.add(value, weight);
      for (let k = 0; k < weight; k++) expanded.push(value * 1000);
      if (i % 1000 === 0) g.add(5, 0);
    }
    expect(g.length).toBe(n);
    const a = g.summary(1000);
    const b = summarize(Float64Array.from(expanded));
    for (const key of ['mean', 'median', 'std', 'p90', 'p99'] as const) expect(a[key]).toBeCloseTo(b[key], 9);
  });

  it('summarises an empty recorder as zeros', () => {
    expect(new GapRecorder().summary(1000)).toEqual({ mean: 0, median: 0, std: 0, p90: 0, p99: 0 });
  });
});
