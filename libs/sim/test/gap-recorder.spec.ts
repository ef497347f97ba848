import { describe, expect, it } from 'vitest';
import { GapRecorder } from '../src/engine/gap-recorder';

describe('gap recorder', () => {
  it('keeps every weighted gap in order across its storage chunks, and drops zero weights', () => {
    const g = new GapRecorder();
    const n = 300_000; // more than two chunks
    for (let i = 0; i < n; i++) {
      g.add(i * 1e-3, (i % 3) + 1);
      if (i % 1000 === 0) g.add(5, 0);
    }
    expect(g.length).toBe(n);
    const { values, weights } = g.collect(1000);
    expect(values.length).toBe(n);
    expect(weights.length).toBe(n);
    for (const i of [0, 1, 131_071, 131_072, 131_073, 262_144, n - 1]) {
      expect(values[i]).toBeCloseTo(i, 9);
      expect(weights[i]).toBe((i % 3) + 1);
    }
  });

  it('collects nothing from an empty recorder', () => {
    const { values, weights } = new GapRecorder().collect();
    expect(values.length).toBe(0);
    expect(weights.length).toBe(0);
  });
});
