/**
 * The `poisson-logistic/1` match model of a fusion profile's rate-distortion fit, written once:
 * a block finds a match among `m` candidate blocks of other sequences (or earlier chunks) with
 * probability cap x (1 - exp(-m p(t) / cap)), where the per-candidate probability is logistic in
 * the threshold, p(t) = pMax / (1 + exp((t - t0) / width)), and `cap` (default 1) is the share
 * of the layer's blocks that can fuse at all.
 */
export interface MatchParameters {
  pMax: number;
  t0: number;
  width: number;
  cap?: number;
}

/** Per-candidate match probability p(t) of a layer at threshold t. */
export function matchProbability(p: MatchParameters, t: number): number {
  return p.pMax / (1 + Math.exp((t - p.t0) / p.width));
}

/** The layer's matchable share: `cap` when it is a fraction in (0, 1], else 1. */
export function matchCap(p: MatchParameters): number {
  return p.cap !== undefined && p.cap > 0 && p.cap <= 1 ? p.cap : 1;
}

/** Probability that a block matches one of `candidates` blocks, given p(t) and the layer's cap. */
export function matchShareAt(probability: number, cap: number, candidates: number): number {
  return cap * (1 - Math.exp((-candidates * probability) / cap));
}

/** Probability that a block of a layer matches one of `candidates` blocks at threshold t. */
export function matchShare(p: MatchParameters, t: number, candidates: number): number {
  return matchShareAt(matchProbability(p, t), matchCap(p), candidates);
}

/**
 * Per-layer compression (full blocks / surviving blocks) from the fit for a batch of
 * `batchSize` sequences of `blocksPerSequence` blocks: sequence j meets the
 * j x blocksPerSequence blocks before it.
 */
export function predictedCompression(
  p: MatchParameters,
  t: number,
  batchSize: number,
  blocksPerSequence: number,
): number {
  let matched = 0;
  for (let j = 0; j < batchSize; j++) matched += matchShare(p, t, j * blocksPerSequence);
  return 1 / Math.max(1 - matched / batchSize, 1e-6);
}
