import { Xoshiro128ss } from '@kvplan/core';

/**
 * Picks `n` of the requests whose prompt lengths are `lengths`, stratified by prompt length:
 * the requests sorted by length are cut into `strata` groups of (nearly) equal count, each
 * group gives its share of `n` (by size, largest remainders first), drawn without replacement
 * with a generator seeded by `seed`. The picks come back shuffled (so the first B of them are
 * themselves a spread of lengths, for batch-size subsets). Deterministic in (lengths, n, seed).
 * With n >= the number of requests every request is taken.
 */
export function stratifiedSample(
  lengths: ArrayLike<number>,
  n: number,
  seed: number,
  strata = Math.min(8, Math.max(1, n)),
): number[] {
  const total = lengths.length;
  const rng = new Xoshiro128ss(seed);
  if (!Number.isInteger(n) || n < 1) throw new RangeError(`sample size must be a positive integer, got ${n}`);
  const order = Array.from({ length: total }, (_, i) => i).sort((a, b) => lengths[a] - lengths[b] || a - b);
  let picked: number[];
  if (n >= total) picked = order;
  else {
    const S = Math.min(strata, n, total);
    const groups: number[][] = [];
    for (let s = 0; s < S; s++)
      groups.push(order.slice(Math.floor((s * total) / S), Math.floor(((s + 1) * total) / S)));
    // Proportional allocation with largest remainders (ties to the earlier stratum).
    const exact = groups.map((g) => (g.length * n) / total);
    const take = exact.map(Math.floor);
    let left = n - take.reduce((a, b) => a + b, 0);
    const byRemainder = exact
      .map((x, s) => ({ s, r: x - Math.floor(x) }))
      .sort((a, b) => b.r - a.r || a.s - b.s);
    for (const { s } of byRemainder) {
      if (left === 0) break;
      if (take[s] < groups[s].length) {
        take[s]++;
        left--;
      }
    }
    picked = [];
    groups.forEach((g, s) => {
      const pool = g.slice();
      for (let k = 0; k < take[s]; k++) {
        const j = rng.int(k, pool.length - 1);
        [pool[k], pool[j]] = [pool[j], pool[k]];
        picked.push(pool[k]);
      }
    });
  }
  const out = picked.slice();
  for (let i = out.length - 1; i > 0; i--) {
    const j = rng.int(0, i);
    [out[i], out[j]] = [out[j], out[i]];
  }
  return out;
}
