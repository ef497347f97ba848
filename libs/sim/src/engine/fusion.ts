import { matchCap, matchProbability, matchShareAt, type FusionProfile } from '@kvplan/core';
import type { FusionConfig, ModelArch } from '../types';

/**
 * The parametric profile used until a measured one is given: on every layer but the first two
 * and last two, a block matches a given block of another sequence with probability
 * p(t) = 0.01 / (1 + exp((t - 0.6) / 0.03)), about 3.4e-4 at t = 0.7, so a sequence of 32 blocks
 * joining 63 others loses about half its blocks, near the paper's 2x at that threshold.
 */
export function parametricFusionProfile(
  model: ModelArch,
  mode: 'bff' | 'cff',
  blockSize: number,
): FusionProfile {
  const L = model.numLayers;
  const fused = Array.from({ length: L }, (_, l) => l).filter((l) => l >= 2 && l < L - 2);
  return {
    format: 'kvplan-fusion-profile/1',
    mode,
    source: 'parametric',
    model: model.id,
    numLayers: L,
    fusedLayers: fused,
    blockSize,
    points: [],
    rateDistortion: {
      model: 'poisson-logistic/1',
      layers: fused.map((layer) => ({ layer, pMax: 0.01, t0: 0.6, width: 0.03 })),
    },
    accuracy: null,
  };
}

/**
 * The fusion arithmetic the simulator needs, from a profile's rate-distortion model: how many
 * block-equivalents a sequence frees when it fuses against `candidates` blocks of other
 * sequences (BFF), or its chunks against each other (CFF). A physical block holds every layer,
 * so freeing a block on a fraction of the layers frees that fraction of a block; layers the
 * profile does not fuse keep every block.
 */
export class FusionModel {
  readonly config: FusionConfig;
  private readonly probs: number[];
  private readonly caps: number[];
  private readonly numLayers: number;
  /** FLOPs of one block-to-block key similarity on one layer (a dot product of the block vector). */
  readonly flopsPerPairPerLayer: number;

  constructor(config: FusionConfig, model: ModelArch, blockSize: number) {
    this.config = config;
    const profile = config.profile ?? parametricFusionProfile(model, config.mode, blockSize);
    this.numLayers = profile.numLayers || model.numLayers;
    const fits = profile.rateDistortion?.layers ?? [];
    this.probs = fits.map((f) => matchProbability(f, config.threshold));
    this.caps = fits.map(matchCap);
    this.flopsPerPairPerLayer = 2 * blockSize * model.numKvHeads * model.headDim;
  }

  /** Layers that fuse at all. */
  get fusedLayerCount(): number {
    return this.probs.length;
  }

  /** Block-equivalents freed when `blocks` full blocks meet `candidates` blocks of others (BFF). */
  bffFreed(blocks: number, candidates: number): number {
    if (blocks <= 0 || candidates <= 0) return 0;
    let matched = 0;
    for (let i = 0; i < this.probs.length; i++) matched += this.matchShare(i, candidates);
    return (blocks * matched) / this.numLayers;
  }

  /**
   * Block-equivalents freed by CFF over one prompt: full windows of `window` chunks of
   * `chunkBlocks` blocks each; within a window every chunk is compared with the earlier ones.
   */
  cffFreed(fullBlocks: number, chunkBlocks: number): number {
    const window = this.config.window;
    const windows = Math.floor(fullBlocks / (chunkBlocks * window));
    if (windows === 0 || chunkBlocks <= 0) return 0;
    let perWindow = 0;
    for (let i = 0; i < this.probs.length; i++)
      for (let j = 1; j < window; j++) perWindow += chunkBlocks * this.matchShare(i, j * chunkBlocks);
    return (windows * perWindow) / this.numLayers;
  }

  /** Probability that a block of layer i finds a match among `candidates` blocks. */
  private matchShare(i: number, candidates: number): number {
    return matchShareAt(this.probs[i], this.caps[i], candidates);
  }

  /** FLOPs of comparing `blocks` blocks with `candidates` others on every fused layer. */
  similarityFlops(blocks: number, candidates: number): number {
    return blocks * candidates * this.flopsPerPairPerLayer * this.probs.length;
  }
}
