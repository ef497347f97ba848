import type { FusionAnalysis } from './analyze';
import { matchProbability, nelderMead } from '@kvplan/core';
import type { SimilarityHistogram } from './search';

/**
 * Rate-distortion model of fusion (`poisson-logistic/1`). Per layer, two cross-leaf blocks
 * (different sequences in BFF, different chunks in CFF) match at threshold t with probability
 *   p(t) = pMax / (1 + exp((t - t0) / width)),
 * a logistic fit of the survival function of their cosine similarity. A block of the k-th leaf
 * of a batch (k = 0, 1, ...) finds a match among the m = k n blocks before it (n blocks per leaf)
 * with probability 1 - exp(-m p(t)) (Poisson: matches are rare and independent), so the
 * surviving fraction of a batch of B leaves is
 *   S(B, t) = (1/B) sum_{k=0}^{B-1} exp(-k n p(t)).
 * The capped variant (`poisson-logistic-capped/1`) lets only a fraction `cap` of blocks be
 * matchable: P(match | m) = cap (1 - exp(-m p(t) / cap)), so
 *   S(B, t) = 1 - cap + cap (1/B) sum_{k=0}^{B-1} exp(-k n p(t) / cap).
 */
export interface PoissonLogisticLayer {
  layer: number;
  pMax: number;
  t0: number;
  width: number;
}

export interface CappedPoissonLogisticLayer extends PoissonLogisticLayer {
  cap: number;
}

/** A measured surviving fraction of one layer: a batch (or window) of `leaves` leaves at a threshold. */
export interface RdPoint {
  layer: number;
  threshold: number;
  leaves: number;
  blocksPerLeaf: number;
  survivingFraction: number;
  /** Blocks behind the measurement (all nodes of that size summed). */
  blocks: number;
}

/** The fits' minimiser settings: a per-parameter initial step, a budget of evaluations, a tight tolerance. */
const FIT_SEARCH = (step: number[], maxEvals: number) => ({ step, maxEvals, tolerance: 1e-12 });

/** sum_{k=0}^{B-1} exp(-k x) / B, computed stably. */
function meanGeometric(B: number, x: number): number {
  if (B <= 1) return 1;
  if (x < 1e-12) return 1 - ((B - 1) * x) / 2;
  const q = Math.exp(-x);
  return (1 - Math.pow(q, B)) / (B * (1 - q));
}

/** Predicted surviving fraction of a batch of `leaves` leaves of `blocksPerLeaf` blocks at `threshold`. */
export function predictSurvivingFraction(
  p: PoissonLogisticLayer | CappedPoissonLogisticLayer,
  q: { threshold: number; leaves: number; blocksPerLeaf: number },
): number {
  const rate = q.blocksPerLeaf * matchProbability(p, q.threshold);
  if ('cap' in p) return 1 - p.cap + p.cap * meanGeometric(q.leaves, rate / p.cap);
  return meanGeometric(q.leaves, rate);
}

/** Measured points of an analysis: per fused layer, threshold and subtree size (>= 2 leaves). */
export function rdPointsFromAnalysis(a: FusionAnalysis): RdPoint[] {
  const out: RdPoint[] = [];
  for (const l of a.layers) {
    if (!l.fused) continue;
    for (const r of l.thresholds) {
      for (const p of r.points) {
        if (p.blocks === 0) continue;
        out.push({
          layer: l.layer,
          threshold: r.threshold,
          leaves: p.leaves,
          blocksPerLeaf: p.blocks / (p.nodes * p.leaves),
          survivingFraction: p.surviving / p.blocks,
          blocks: p.blocks,
        });
      }
    }
  }
  return out;
}

/** Absolute error of predicted against measured surviving fractions. */
export interface PredictionError {
  points: number;
  meanAbsError: number;
  maxAbsError: number;
}

export interface HeldOutError extends PredictionError {
  /** `largest-batch`: fitted without the points of the largest batch (window), predicting them. `leave-one-threshold-out`: each threshold predicted from the others. */
  split: 'largest-batch' | 'leave-one-threshold-out';
}

export interface RateDistortionFit {
  model: 'poisson-logistic/1';
  layers: PoissonLogisticLayer[];
  /** The same with a matchable fraction (a proposal: `poisson-logistic-capped/1`). */
  capped: { model: 'poisson-logistic-capped/1'; layers: CappedPoissonLogisticLayer[] };
  /** Per layer, the logistic fitted to the cross-leaf similarity distribution alone (dense search only). */
  similarity: PoissonLogisticLayer[] | null;
  /** In-sample error of the fits (all points). */
  fitError: { plain: PredictionError; capped: PredictionError };
  heldOut: { plain: HeldOutError[]; capped: HeldOutError[] };
}

const logit = (p: number): number => Math.log(p / (1 - p));
const sigmoid = (x: number): number => 1 / (1 + Math.exp(-x));

/** Logistic fit of the pair-match probability P(cos > t) from a similarity histogram. */
export function fitSimilarityLogistic(h: SimilarityHistogram, layer: number): PoissonLogisticLayer | null {
  if (h.total === 0) return null;
  const w = 2 / h.bins;
  const ts: number[] = [];
  const ps: number[] = [];
  // P(cos > edge) at each bin edge from 0 to 1.
  let above = 0;
  for (let k = h.bins - 1; k >= 0; k--) {
    above += h.counts[k];
    const edge = -1 + k * w;
    // Fusion thresholds sit in the upper tail: fit where at most 5 % of the pairs lie above.
    if (above / h.total > 0.05) break;
    ts.push(edge);
    ps.push(above / h.total);
  }
  if (ts.length < 3) return null;
  const eps = 1 / h.total;
  const f = (x: number[]): number => {
    const p = { pMax: sigmoid(x[0]), t0: x[1], width: Math.exp(x[2]) };
    let s = 0;
    for (let i = 0; i < ts.length; i++) {
      const d = Math.log(matchProbability(p, ts[i]) + eps) - Math.log(ps[i] + eps);
      s += d * d;
    }
    return s;
  };
  const median = ts[ps.findIndex((p) => p >= 0.5 * ps[ps.length - 1])] ?? 0.5;
  const { x } = nelderMead(f, [logit(0.99), median, Math.log(0.1)], FIT_SEARCH([1, 0.1, 0.5], 3000));
  return { layer, pMax: sigmoid(x[0]), t0: x[1], width: Math.exp(x[2]) };
}

interface FitOptions {
  capped: boolean;
  init: PoissonLogisticLayer | null;
}

function fitLayer(points: RdPoint[], layer: number, opts: FitOptions): CappedPoissonLogisticLayer {
  const thresholds = new Set(points.map((p) => p.threshold));
  // Three or more thresholds determine all three parameters; with fewer, pMax and width keep
  // the shape of the similarity fit (or a generic one) and only t0 moves.
  const free = thresholds.size >= 3;
  const init = opts.init ?? { layer, pMax: 0.05, t0: Math.max(...thresholds, 0.5), width: 0.05 };
  const decode = (x: number[]): CappedPoissonLogisticLayer => {
    const base = free
      ? { layer, pMax: sigmoid(x[0]), t0: x[1], width: Math.exp(x[2]) }
      : { layer, pMax: init.pMax, t0: x[0], width: init.width };
    return { ...base, cap: opts.capped ? sigmoid(x[free ? 3 : 1]) : 1 };
  };
  const loss = (x: number[]): number => {
    const p = decode(x);
    const model = opts.capped ? p : { layer, pMax: p.pMax, t0: p.t0, width: p.width };
    let s = 0;
    for (const q of points) {
      const d = predictSurvivingFraction(model, q) - q.survivingFraction;
      s += d * d;
    }
    return s;
  };
  const x0 = free ? [logit(clamp(init.pMax)), init.t0, Math.log(init.width)] : [init.t0];
  const step = free ? [1, 0.05, 0.3] : [0.05];
  if (opts.capped) {
    x0.push(logit(0.9));
    step.push(1);
  }
  // Two restarts from the first optimum, as Nelder-Mead can stall on a ridge.
  let best = nelderMead(loss, x0, FIT_SEARCH(step, 4000));
  for (let r = 0; r < 2; r++) best = nelderMead(loss, best.x, FIT_SEARCH(step, 4000));
  return decode(best.x);
}

function clamp(p: number): number {
  return Math.min(1 - 1e-9, Math.max(1e-9, p));
}

function errors(pairs: Array<[number, number]>): PredictionError {
  const abs = pairs.map(([a, b]) => Math.abs(a - b));
  return {
    points: abs.length,
    meanAbsError: abs.length ? abs.reduce((a, b) => a + b, 0) / abs.length : 0,
    maxAbsError: abs.length ? Math.max(...abs) : 0,
  };
}

/**
 * Fits the model per fused layer: the similarity histogram (when the dense search produced one)
 * gives the logistic's shape; the measured surviving fractions at every subtree size and
 * threshold calibrate it (all three parameters when three or more thresholds were measured,
 * else t0 only). The prediction error is reported on measured points the fit did not see.
 */
export function fitRateDistortion(
  a: FusionAnalysis,
  points: RdPoint[] = rdPointsFromAnalysis(a),
): RateDistortionFit {
  const histograms = new Map<number, SimilarityHistogram | null>();
  for (const l of a.layers) if (l.fused) histograms.set(l.layer, l.similarity);
  return fitRateDistortionPoints(points, histograms);
}

/** The fit from measured points alone, with each layer's similarity histogram when known. */
export function fitRateDistortionPoints(
  points: RdPoint[],
  histograms: Map<number, SimilarityHistogram | null> = new Map(),
): RateDistortionFit {
  const fusedLayers = [...new Set(points.map((p) => p.layer))].sort((x, y) => x - y);
  const sim = new Map<number, PoissonLogisticLayer | null>();
  for (const l of fusedLayers) {
    const h = histograms.get(l);
    sim.set(l, h ? fitSimilarityLogistic(h, l) : null);
  }
  const plain: PoissonLogisticLayer[] = [];
  const capped: CappedPoissonLogisticLayer[] = [];
  const inPlain: Array<[number, number]> = [];
  const inCapped: Array<[number, number]> = [];
  const heldPlain = new Map<HeldOutError['split'], Array<[number, number]>>();
  const heldCapped = new Map<HeldOutError['split'], Array<[number, number]>>();
  const push = (
    m: Map<HeldOutError['split'], Array<[number, number]>>,
    k: HeldOutError['split'],
    v: [number, number],
  ): void => {
    if (!m.has(k)) m.set(k, []);
    m.get(k)!.push(v);
  };
  for (const layer of fusedLayers) {
    const pts = points.filter((p) => p.layer === layer);
    const init = sim.get(layer) ?? null;
    const p = fitLayer(pts, layer, { capped: false, init });
    const c = fitLayer(pts, layer, { capped: true, init });
    const pl = { layer, pMax: p.pMax, t0: p.t0, width: p.width };
    plain.push(pl);
    capped.push(c);
    for (const q of pts) {
      inPlain.push([predictSurvivingFraction(pl, q), q.survivingFraction]);
      inCapped.push([predictSurvivingFraction(c, q), q.survivingFraction]);
    }
    // Held out: the largest batch (window) predicted from the smaller ones.
    const maxLeaves = Math.max(0, ...pts.map((q) => q.leaves));
    const small = pts.filter((q) => q.leaves < maxLeaves);
    if (small.length >= 2) {
      const fp = fitLayer(small, layer, { capped: false, init });
      const fc = fitLayer(small, layer, { capped: true, init });
      const fpl = { layer, pMax: fp.pMax, t0: fp.t0, width: fp.width };
      for (const q of pts.filter((x) => x.leaves === maxLeaves)) {
        push(heldPlain, 'largest-batch', [predictSurvivingFraction(fpl, q), q.survivingFraction]);
        push(heldCapped, 'largest-batch', [predictSurvivingFraction(fc, q), q.survivingFraction]);
      }
    }
    // Held out: each threshold predicted from the others (needs three or more).
    const ths = [...new Set(pts.map((q) => q.threshold))].sort((x, y) => x - y);
    if (ths.length >= 3) {
      for (const t of ths) {
        const rest = pts.filter((q) => q.threshold !== t);
        const fp = fitLayer(rest, layer, { capped: false, init });
        const fc = fitLayer(rest, layer, { capped: true, init });
        const fpl = { layer, pMax: fp.pMax, t0: fp.t0, width: fp.width };
        for (const q of pts.filter((x) => x.threshold === t)) {
          push(heldPlain, 'leave-one-threshold-out', [predictSurvivingFraction(fpl, q), q.survivingFraction]);
          push(heldCapped, 'leave-one-threshold-out', [predictSurvivingFraction(fc, q), q.survivingFraction]);
        }
      }
    }
  }
  const splits = (m: Map<HeldOutError['split'], Array<[number, number]>>): HeldOutError[] =>
    [...m.entries()].map(([split, v]) => ({ split, ...errors(v) }));
  const simLayers = fusedLayers.map((l) => sim.get(l)).filter((x): x is PoissonLogisticLayer => !!x);
  return {
    model: 'poisson-logistic/1',
    layers: plain,
    capped: { model: 'poisson-logistic-capped/1', layers: capped },
    similarity: simLayers.length === fusedLayers.length && simLayers.length > 0 ? simLayers : null,
    fitError: { plain: errors(inPlain), capped: errors(inCapped) },
    heldOut: { plain: splits(heldPlain), capped: splits(heldCapped) },
  };
}
