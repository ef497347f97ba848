/** Summary statistics as vLLM's benchmark_serving computes them (numpy: population std, linear percentiles). */
export interface Summary {
  mean: number;
  median: number;
  std: number;
  p90: number;
  p99: number;
}

const EMPTY: Summary = { mean: 0, median: 0, std: 0, p90: 0, p99: 0 };

/** numpy.percentile with linear interpolation on an ascending-sorted array. */
export function percentileSorted(sorted: ArrayLike<number>, q: number): number {
  const n = sorted.length;
  if (n === 0) return 0;
  const pos = (q / 100) * (n - 1);
  const lo = Math.floor(pos);
  const hi = Math.min(lo + 1, n - 1);
  return sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo);
}

export function summarize(values: Float64Array): Summary {
  const n = values.length;
  if (n === 0) return { ...EMPTY };
  const sorted = Float64Array.from(values).sort();
  let sum = 0;
  for (let i = 0; i < n; i++) sum += sorted[i];
  const mean = sum / n;
  let ss = 0;
  for (let i = 0; i < n; i++) ss += (sorted[i] - mean) ** 2;
  return {
    mean,
    median: percentileSorted(sorted, 50),
    std: Math.sqrt(ss / n),
    p90: percentileSorted(sorted, 90),
    p99: percentileSorted(sorted, 99),
  };
}

/**
 * The same statistics over a multiset given as (value, weight) pairs with integer weights:
 * identical to summarize() on the expanded list, without expanding it.
 */
export function summarizeWeighted(values: Float64Array, weights: Float64Array, length: number): Summary {
  let total = 0;
  let sum = 0;
  for (let i = 0; i < length; i++) {
    total += weights[i];
    sum += values[i] * weights[i];
  }
  if (total === 0) return { ...EMPTY };
  const mean = sum / total;
  let ss = 0;
  for (let i = 0; i < length; i++) ss += weights[i] * (values[i] - mean) ** 2;
  const order = argsortNonNegative(values, length);
  // Value at 0-based rank k of the expanded sorted list.
  const cum = new Float64Array(length);
  let c = 0;
  for (let i = 0; i < length; i++) cum[i] = c += weights[order[i]];
  const at = (k: number): number => {
    let lo = 0;
    let hi = length - 1;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (cum[mid] > k) hi = mid;
      else lo = mid + 1;
    }
    return values[order[lo]];
  };
  const pct = (q: number): number => {
    const pos = (q / 100) * (total - 1);
    const lo = Math.floor(pos);
    const a = at(lo);
    const b = at(Math.min(lo + 1, total - 1));
    return a + (b - a) * (pos - lo);
  };
  return { mean, median: pct(50), std: Math.sqrt(ss / total), p90: pct(90), p99: pct(99) };
}

const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/**
 * Indices that sort values[0..length) ascending, for non-negative finite doubles: an LSD radix
 * sort on their IEEE-754 bit patterns (which order like the numbers when non-negative), four
 * 16-bit passes. Exact, stable, and O(n) where a comparator sort of millions of gaps is not.
 */
export function argsortNonNegative(values: Float64Array, length: number): Uint32Array {
  if (!LITTLE_ENDIAN) {
    const order = new Uint32Array(length);
    for (let i = 0; i < length; i++) order[i] = i;
    return order.sort((a, b) => values[a] - values[b] || a - b);
  }
  const bits = new Uint32Array(values.buffer, values.byteOffset, values.length * 2);
  // Keys travel with their indices so every pass reads sequentially.
  let lo = new Uint32Array(length);
  let hi = new Uint32Array(length);
  let order = new Uint32Array(length);
  for (let i = 0; i < length; i++) {
    lo[i] = bits[2 * i];
    hi[i] = bits[2 * i + 1];
    order[i] = i;
  }
  let lo2 = new Uint32Array(length);
  let hi2 = new Uint32Array(length);
  let order2 = new Uint32Array(length);
  const counts = new Uint32Array(65537);
  // Little-endian: word 2i is the low half, 2i+1 the high half of values[i].
  for (const [useHi, shift] of [
    [false, 0],
    [false, 16],
    [true, 0],
    [true, 16],
  ] as const) {
    const key = useHi ? hi : lo;
    counts.fill(0);
    for (let i = 0; i < length; i++) counts[((key[i] >>> shift) & 0xffff) + 1]++;
    for (let d = 1; d <= 65536; d++) counts[d] += counts[d - 1];
    for (let i = 0; i < length; i++) {
      const at = counts[(key[i] >>> shift) & 0xffff]++;
      lo2[at] = lo[i];
      hi2[at] = hi[i];
      order2[at] = order[i];
    }
    [lo, lo2] = [lo2, lo];
    [hi, hi2] = [hi2, hi];
    [order, order2] = [order2, order];
  }
  return order;
}
