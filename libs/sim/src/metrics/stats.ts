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
  let sum = 0;
  let negative = false;
  for (let i = 0; i < n; i++) {
    sum += values[i];
    if (values[i] < 0) negative = true;
  }
  const mean = sum / n;
  let ss = 0;
  for (let i = 0; i < n; i++) ss += (values[i] - mean) ** 2;
  // Latencies are never negative: select the ranks instead of sorting (same numbers).
  if (!negative) {
    const [median, p90, p99] = selectPercentiles([{ values, weights: ONES(n), n }], n);
    return { mean, median, std: Math.sqrt(ss / n), p90, p99 };
  }
  const sorted = Float64Array.from(values).sort();
  return {
    mean,
    median: percentileSorted(sorted, 50),
    std: Math.sqrt(ss / n),
    p90: percentileSorted(sorted, 90),
    p99: percentileSorted(sorted, 99),
  };
}

let ones = new Uint32Array(0);
/** A shared array of at least n ones (read-only by its users). */
function ONES(n: number): Uint32Array {
  if (ones.length < n) ones = new Uint32Array(n).fill(1);
  return ones;
}

/** `n` values with their integer weights: one piece of a weighted multiset kept in chunks. */
export interface WeightedChunk {
  values: Float64Array;
  weights: Uint32Array;
  n: number;
}

/**
 * The same statistics over a multiset given as (value, weight) pairs with integer weights:
 * identical to summarize() on the expanded list, without expanding it.
 */
export function summarizeWeighted(values: Float64Array, weights: ArrayLike<number>, length: number): Summary {
  return summarizeChunks([{ values, weights: Uint32Array.from(weights), n: length }]);
}

/**
 * summarizeWeighted over a multiset stored in chunks, every statistic times `scale` (> 0, so the
 * order is kept): the chunks are read where they lie, never copied into one array.
 */
export function summarizeChunks(chunks: readonly WeightedChunk[], scale = 1): Summary {
  let total = 0;
  let sum = 0;
  for (const { values, weights, n } of chunks)
    for (let i = 0; i < n; i++) {
      total += weights[i];
      sum += values[i] * weights[i];
    }
  if (total === 0) return { ...EMPTY };
  const mean = sum / total;
  let ss = 0;
  for (const { values, weights, n } of chunks)
    for (let i = 0; i < n; i++) ss += weights[i] * (values[i] - mean) ** 2;
  const [median, p90, p99] = selectPercentiles(chunks, total);
  return {
    mean: mean * scale,
    median: median * scale,
    std: Math.sqrt(ss / total) * scale,
    p90: p90 * scale,
    p99: p99 * scale,
  };
}

/** The 50th, 90th and 99th percentiles (numpy's linear interpolation) by one valuesAtRanks call. */
function selectPercentiles(chunks: readonly WeightedChunk[], total: number): number[] {
  const qs = [50, 90, 99];
  const ranks = qs.flatMap((q) => {
    const lo = Math.floor((q / 100) * (total - 1));
    return [lo, Math.min(lo + 1, total - 1)];
  });
  const at = valuesAtRanks(chunks, ranks);
  return qs.map((q, i) => {
    const pos = (q / 100) * (total - 1);
    return at[2 * i] + (at[2 * i + 1] - at[2 * i]) * (pos - Math.floor(pos));
  });
}

/**
 * The values at 0-based ranks of the expanded sorted multiset (each value repeated by its integer
 * weight), for non-negative finite doubles: a radix select on their IEEE-754 bits (which order
 * like the numbers when non-negative), 16 bits at a time from the top. One pass over every chunk
 * finds the top-16-bit buckets the ranks fall in and a second copies those buckets' members out;
 * the lower levels narrow these copies in place. Exact, and O(n) where a sort is O(n log n).
 */
export function valuesAtRanks(chunks: readonly WeightedChunk[], ranks: number[]): number[] {
  if (!LITTLE_ENDIAN) return valuesAtRanksBySort(chunks, ranks);
  // Level 0, once for every rank: the top 16 bits (little-endian: word 2i+1 is the high half).
  const hist = new Float64Array(65536);
  const members = new Uint32Array(65536);
  for (const { values, weights, n } of chunks) {
    const bits = new Uint32Array(values.buffer, values.byteOffset, 2 * n);
    for (let i = 0; i < n; i++) {
      const top = bits[2 * i + 1] >>> 16;
      hist[top] += weights[i];
      members[top]++;
    }
  }
  const bucketOf = ranks.map((rank) => {
    let k = rank;
    let b = 0;
    while (b < 65535 && k >= hist[b]) k -= hist[b++];
    return { b, k };
  });
  // Copy the members of the buckets the ranks fall in out of the chunks, in one pass.
  const group = new Int8Array(65536).fill(-1);
  const buckets = [...new Set(bucketOf.map((x) => x.b))];
  buckets.forEach((b, g) => (group[b] = g));
  const setValues = buckets.map((b) => new Float64Array(members[b]));
  const setWeights = buckets.map((b) => new Uint32Array(members[b]));
  const fill = new Int32Array(buckets.length);
  for (const { values, weights, n } of chunks) {
    const bits = new Uint32Array(values.buffer, values.byteOffset, 2 * n);
    for (let i = 0; i < n; i++) {
      const g = group[bits[2 * i + 1] >>> 16];
      if (g < 0) continue;
      setValues[g][fill[g]] = values[i];
      setWeights[g][fill[g]++] = weights[i];
    }
  }
  // Levels 1-3 within the bucket: the next 16 bits, narrowing a list of members in place.
  const memo = new Map<number, number>();
  return bucketOf.map(({ b, k }, r) => {
    const known = memo.get(ranks[r]);
    if (known !== undefined) return known;
    const g = buckets.indexOf(b);
    const weights = setWeights[g];
    const bits = new Uint32Array(setValues[g].buffer);
    const set = new Uint32Array(weights.length);
    for (let j = 0; j < set.length; j++) set[j] = j;
    let n = set.length;
    for (let d = 1; d < 4; d++) {
      const word = d === 1 ? 1 : 0;
      const shift = d === 2 ? 16 : 0;
      hist.fill(0);
      for (let j = 0; j < n; j++) {
        const i = set[j];
        hist[(bits[2 * i + word] >>> shift) & 0xffff] += weights[i];
      }
      let c = 0;
      while (c < 65535 && k >= hist[c]) k -= hist[c++];
      let m = 0;
      for (let j = 0; j < n; j++) {
        const i = set[j];
        if (((bits[2 * i + word] >>> shift) & 0xffff) === c) set[m++] = i;
      }
      n = m;
    }
    const v = setValues[g][set[0]];
    memo.set(ranks[r], v);
    return v;
  });
}

/** valuesAtRanks on a big-endian machine: the chunks joined and argsorted. */
function valuesAtRanksBySort(chunks: readonly WeightedChunk[], ranks: number[]): number[] {
  const length = chunks.reduce((s, c) => s + c.n, 0);
  const values = new Float64Array(length);
  const weights = new Float64Array(length);
  let at = 0;
  for (const c of chunks) {
    values.set(c.values.subarray(0, c.n), at);
    weights.set(c.weights.subarray(0, c.n), at);
    at += c.n;
  }
  const order = argsortNonNegative(values, length);
  const cum = new Float64Array(length);
  let c = 0;
  for (let i = 0; i < length; i++) cum[i] = c += weights[order[i]];
  return ranks.map((k) => {
    let lo = 0;
    let hi = length - 1;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (cum[mid] > k) hi = mid;
      else lo = mid + 1;
    }
    return values[order[lo]];
  });
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
