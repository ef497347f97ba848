/** A measured value with its 95 % confidence interval (null with fewer than two observations). */
export interface Estimate {
  value: number;
  interval: [number, number] | null;
  /** Observations (prompts) behind it. */
  n: number;
}

// Two-sided 95 % Student-t quantiles for 1..30 degrees of freedom.
const T975 = [
  12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179, 2.16, 2.145, 2.131,
  2.12, 2.11, 2.101, 2.093, 2.086, 2.08, 2.074, 2.069, 2.064, 2.06, 2.056, 2.052, 2.048, 2.045, 2.042,
];

export function tQuantile975(df: number): number {
  return df <= 30 ? T975[Math.max(1, df) - 1] : 1.96 + 2.4 / df;
}

/** Mean with a Student-t 95 % interval, clipped to [lo, hi]. */
export function meanEstimate(xs: number[], lo = -Infinity, hi = Infinity): Estimate {
  const n = xs.length;
  if (n === 0) return { value: NaN, interval: null, n };
  const m = xs.reduce((a, b) => a + b, 0) / n;
  if (n < 2) return { value: m, interval: null, n };
  const sd = Math.sqrt(xs.reduce((a, x) => a + (x - m) * (x - m), 0) / (n - 1));
  const h = (tQuantile975(n - 1) * sd) / Math.sqrt(n);
  return { value: m, interval: [Math.max(lo, m - h), Math.min(hi, m + h)], n };
}

/** A proportion with its Wilson 95 % interval. */
export function proportionEstimate(successes: number, n: number): Estimate {
  if (n === 0) return { value: NaN, interval: null, n };
  const p = successes / n;
  if (n < 2) return { value: p, interval: null, n };
  const z = 1.96;
  const z2 = z * z;
  const centre = (p + z2 / (2 * n)) / (1 + z2 / n);
  const half = (z * Math.sqrt((p * (1 - p)) / n + z2 / (4 * n * n))) / (1 + z2 / n);
  // The bounds are exact at 0 and n successes (the formula's rounding would leave 1 - 1e-16).
  const lo = successes === 0 ? 0 : Math.max(0, centre - half);
  const hi = successes === n ? 1 : Math.min(1, centre + half);
  return { value: p, interval: [lo, hi], n };
}

/** Log-softmax of one row (float64). */
export function logSoftmax(logits: Float32Array, offset: number, V: number, out: Float64Array): void {
  let max = -Infinity;
  for (let i = 0; i < V; i++) if (logits[offset + i] > max) max = logits[offset + i];
  let sum = 0;
  for (let i = 0; i < V; i++) sum += Math.exp(logits[offset + i] - max);
  const lz = max + Math.log(sum);
  for (let i = 0; i < V; i++) out[i] = logits[offset + i] - lz;
}

/** Index of the largest value of a row (the first on ties). */
export function argmax(xs: ArrayLike<number>, offset = 0, n = xs.length - offset): number {
  let best = 0;
  for (let i = 1; i < n; i++) if (xs[offset + i] > xs[offset + best]) best = i;
  return best;
}

/** SQuAD-style token F1 between two token sequences (bags of tokens). Two empty sequences: 1. */
export function tokenF1(a: number[], b: number[]): number {
  if (a.length === 0 && b.length === 0) return 1;
  if (a.length === 0 || b.length === 0) return 0;
  const counts = new Map<number, number>();
  for (const t of b) counts.set(t, (counts.get(t) ?? 0) + 1);
  let common = 0;
  for (const t of a) {
    const n = counts.get(t) ?? 0;
    if (n > 0) {
      common++;
      counts.set(t, n - 1);
    }
  }
  if (common === 0) return 0;
  const precision = common / a.length;
  const recall = common / b.length;
  return (2 * precision * recall) / (precision + recall);
}
