/**
 * Mixture-of-experts routing arithmetic: how many ranks a token's top-k experts live on, how many
 * bytes expert-parallel dispatch and combine move, and how unevenly routed tokens land on ranks.
 * Experts are placed contiguously, numExperts / epRanks per rank (vLLM's default expert map), and
 * routing is taken as uniform over experts apart from the load-imbalance factor.
 */

/** Default `moe.loadImbalance`: the busiest rank's routed tokens over an even split on a large batch. */
export const DEFAULT_LOAD_IMBALANCE = 1.1;

/**
 * Probability that a token choosing `k` distinct experts of `experts` (uniformly) picks none of a
 * given rank's `experts / ranks`: C(E - E/G, k) / C(E, k).
 */
export function probMissesRank(experts: number, k: number, ranks: number): number {
  const local = experts / ranks;
  let p = 1;
  for (let i = 0; i < k; i++) p *= (experts - local - i) / (experts - i);
  return p > 0 ? p : 0;
}

/** Expected ranks other than its own that one token's hidden state is sent to (deduplicated per rank). */
export function remoteRanksPerToken(experts: number, k: number, ranks: number): number {
  if (ranks <= 1) return 0;
  return (ranks - 1) * (1 - probMissesRank(experts, k, ranks));
}

/**
 * Bytes one rank sends in an all-to-all dispatch of `tokens` tokens (its own) of `bytesPerToken`
 * each (hidden size x activation bytes): once per remote rank holding one of the token's experts.
 * The combine sends the same volume back.
 */
export function dispatchBytes(
  experts: number,
  k: number,
  ranks: number,
  tokens: number,
  bytesPerToken: number,
): number {
  return tokens * bytesPerToken * remoteRanksPerToken(experts, k, ranks);
}

/**
 * The busiest rank's routed tokens over an even split when `tokens` tokens route `k` ways over
 * `ranks` ranks: `skew` (systematic expert popularity) times the sampling spread of the maximum
 * of `ranks` binomial loads, 1 + sqrt(2 ln G x (G - 1) / (tokens x k)); at most G (one rank gets
 * everything). 1 for one rank, and for skew 0 (a perfect balance, the reference its effect is
 * reported against).
 */
export function loadImbalance(ranks: number, tokens: number, k: number, skew: number): number {
  if (ranks <= 1 || skew <= 0) return 1;
  const routed = Math.max(1, tokens * k);
  const f = skew * (1 + Math.sqrt((2 * Math.log(ranks) * (ranks - 1)) / routed));
  return f < ranks ? f : ranks;
}

/** Expected distinct experts of `experts` that `routes` independent routes touch. */
export function expertsTouched(experts: number, routes: number): number {
  return experts * (1 - Math.pow(1 - 1 / experts, routes));
}
