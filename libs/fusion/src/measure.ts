import { InputError, type FusionProfile } from '@kvplan/core';
import { analyzeFusion, type AnalyzeHooks, type FusionAnalysis } from './analyze';
import { firstSequences } from './kv-subset';
import type { KvSource } from './kv-types';
import type { FusionOptions } from './options';
import { buildFusionProfile, type BuildProfileOptions } from './profile';
import { fitRateDistortionPoints, rdPointsFromAnalysis, type RateDistortionFit } from './rate-distortion';
import type { SimilarityHistogram } from './search';

/** Largest CFF chunk a workload measurement uses (kvplan fuse's default). */
export const MAX_CHUNK_TOKENS = 512;

/** The CFF chunk length for a sample: a window of chunks must fit the longest prompt. */
export function cffChunkTokens(seqLens: number[], window: number, blockSize: number): number {
  const longest = Math.max(0, ...seqLens);
  const chunk = Math.floor(longest / window / blockSize) * blockSize;
  if (chunk < blockSize)
    throw new InputError([
      {
        path: 'fusionConfig.window',
        message: `the longest sampled prompt (${longest} tokens) holds no window of ${window} chunks of at least one ${blockSize}-token block`,
      },
    ]);
  return Math.min(chunk, MAX_CHUNK_TOKENS);
}

export interface MeasureOptions extends Partial<FusionOptions> {
  /** BFF: batch sizes to measure at, the first B sequences each (default: the whole sample). */
  batchSizes?: number[];
}

export interface MeasuredFusion {
  /** One analysis per batch size (BFF), or the one over the whole sample (CFF). */
  analyses: FusionAnalysis[];
  fit: RateDistortionFit | null;
  profile: FusionProfile;
  /** Per analysis (batch size, or the CFF window): compression at each threshold. */
  runs: Array<{
    size: number;
    thresholds: Array<{
      threshold: number;
      compressionRatio: number | null;
      compressionRatioAllLayers: number;
    }>;
  }>;
}

/**
 * Fusion measured on a sample, the one composition of analyse -> fit -> profile (the CLI's
 * `fuse` and `plan`, `eval-fusion` and the service's fusion-profile job all use it): BFF at each
 * batch size (the first B sequences; every subtree of a batch's merge tree is a measured point
 * too) or CFF over the whole sample, at every threshold; the rate-distortion model is fitted to
 * all measured points together (with the similarity histograms of the largest run); the profile
 * takes each batch's own top-level points first, then the subtrees no batch measured, ordered by
 * threshold and size.
 */
export async function measureFusion(
  src: KvSource,
  options: MeasureOptions = {},
  profileOptions: Omit<BuildProfileOptions, 'fit'> = {},
  hooks: AnalyzeHooks & { onProgress?: (fraction: number) => void } = {},
): Promise<MeasuredFusion> {
  const { batchSizes, ...fusion } = options;
  const n = src.info.numSeqs;
  const bff = (fusion.mode ?? 'bff') === 'bff';
  let sizes = [n];
  if (bff && batchSizes?.length) {
    if (n < 2)
      throw new InputError([
        { path: 'sample', message: `BFF needs at least 2 sequences, the sample has ${n}` },
      ]);
    sizes = [...new Set(batchSizes.map((b) => Math.min(b, n)))].filter((b) => b >= 2).sort((a, b) => a - b);
  }
  const cost = sizes.map((b) => (bff ? b * b : b));
  const totalCost = cost.reduce((a, b) => a + b, 0);
  let done = 0;
  const analyses: FusionAnalysis[] = [];
  for (let k = 0; k < sizes.length; k++) {
    const view = bff ? firstSequences(src, sizes[k]) : src;
    analyses.push(
      await analyzeFusion(
        view,
        { similarityHistogram: true, ...fusion },
        {
          ...hooks,
          onLayer: (r, l, L) => {
            hooks.onLayer?.(r, l, L);
            hooks.onProgress?.((done + (cost[k] * (l + 1)) / L) / totalCost);
          },
        },
      ),
    );
    done += cost[k];
  }
  const main = analyses[analyses.length - 1];
  const histograms = new Map<number, SimilarityHistogram | null>();
  for (const l of main.layers) if (l.fused) histograms.set(l.layer, l.similarity);
  const fit = main.layers.some((l) => l.fused)
    ? fitRateDistortionPoints(analyses.flatMap(rdPointsFromAnalysis), histograms)
    : null;
  const built = analyses.map((a) => buildFusionProfile(a, { ...profileOptions, ...(fit ? { fit } : {}) }));
  return {
    analyses,
    fit,
    profile: mergePoints(built, sizes, bff),
    runs: analyses.map((a, k) => ({
      size: sizes[k],
      thresholds: a.thresholds.map((t) => ({
        threshold: t.threshold,
        compressionRatio: t.compressionRatio,
        compressionRatioAllLayers: t.compressionRatioAllLayers,
      })),
    })),
  };
}

/** Points of several batch sizes: each batch's own top-level measurement first, then the subtrees. */
function mergePoints(built: FusionProfile[], sizes: number[], bff: boolean): FusionProfile {
  type Point = FusionProfile['points'][number];
  const sizeOf = (p: Point): number => p.batchSize ?? p.window ?? 0;
  const key = (p: Point): string => `${p.threshold}|${sizeOf(p)}`;
  const points = new Map<string, Point>();
  built.forEach((b, k) =>
    b.points.filter((p) => !bff || sizeOf(p) === sizes[k]).forEach((p) => points.set(key(p), p)),
  );
  for (const b of built) for (const p of b.points) if (!points.has(key(p))) points.set(key(p), p);
  return {
    ...built[built.length - 1],
    points: [...points.values()].sort((a, b) => a.threshold - b.threshold || sizeOf(a) - sizeOf(b)),
  };
}
