import { IssueCollector } from '@kvplan/core';
import type { KvSampleInfo } from './kv-types';
import { tfjsKernel, type SimilarityKernel } from './kernel';
import type { MergeRule } from './tree';

/** How to fuse (DESIGN.md "Fusion semantics"; every default is the paper's behaviour). */
export interface FusionOptions {
  mode: 'bff' | 'cff';
  /** Cosine thresholds, each in [-1, 1]; vectors fuse when cos > threshold (strict). */
  thresholds: number[];
  /** `mean` (paper), `weighted` (cluster-size-weighted mean), `keep-representative` (the head block as is). */
  merge: MergeRule;
  /** `tenant`: never fuse blocks of different tenants (needs the sample's `tenants`). */
  scope: 'global' | 'tenant';
  /** Layers to fuse; null: all but the first skipFirstLayers and last skipLastLayers. */
  fusedLayers: number[] | null;
  skipFirstLayers: number;
  skipLastLayers: number;
  /** CFF chunk length in tokens (a multiple of the block size). */
  chunkTokens: number;
  /** CFF window, in chunks. */
  window: number;
  /** `dense`: exact matmul search; `sketch`: count-sketch candidates then an exact cosine check. */
  search: 'dense' | 'sketch';
  sketchDim: number;
  /**
   * The sketch search is dropped (the dense one runs) on layers whose largest merge tree has
   * fewer items than this: there the sketching, the estimates and the checks cost as much as the
   * exact products (bench:fusion's crossover table). 0: never dropped.
   */
  sketchMinItems: number;
  /** Candidate margin below the threshold; null: 3 / sqrt(sketchDim). */
  sketchMargin: number | null;
  sketchSeed: number;
  /** With `sketch`: also run the exact search on the same survivors and report recall (slow). */
  measureRecall: boolean;
  /** Compare (and fuse) keys with rotary position removed; needs rope=applied and rope_theta. */
  removeRope: boolean;
  /** Compute attention-output error and top-k overlap. */
  attention: boolean;
  topK: number;
  proxyQueries: number;
  /** Return reconstructed K and V per layer and threshold (memory: two layers per threshold). */
  keepReconstruction: boolean;
  /** Return every block's representative per layer and threshold. */
  keepMapping: boolean;
  /**
   * Dense search: histogram the cosines of every cross-leaf pair of original blocks (the
   * rate-distortion fit's similarity distribution). Implied by a sweep of several thresholds.
   */
  similarityHistogram: boolean;
  /** Largest similarity cache (floats) kept per layer for the threshold sweep. */
  maxCacheFloats: number;
  /** Milliseconds clock for the timing figures (libraries own no clock: inject one); null: no timings. */
  clock: (() => number) | null;
  /**
   * The block-similarity products (default: tfjs on the application's backend). Chosen by the
   * application (selectSimilarityKernel), never by the library.
   */
  kernel: SimilarityKernel;
}

export const DEFAULT_FUSION_OPTIONS: FusionOptions = {
  mode: 'bff',
  thresholds: [0.7],
  merge: 'mean',
  scope: 'global',
  fusedLayers: null,
  skipFirstLayers: 2,
  skipLastLayers: 2,
  chunkTokens: 512,
  window: 4,
  search: 'dense',
  sketchDim: 512,
  sketchMinItems: 256,
  sketchMargin: null,
  sketchSeed: 1,
  measureRecall: false,
  removeRope: false,
  attention: true,
  topK: 8,
  proxyQueries: 4,
  keepReconstruction: false,
  keepMapping: false,
  similarityHistogram: false,
  maxCacheFloats: 64 * 1024 * 1024,
  clock: null,
  kernel: tfjsKernel,
};

export interface ResolvedFusionOptions extends FusionOptions {
  /** The layers fused, ascending. */
  fused: number[];
  sketchMarginResolved: number;
}

/** Fills defaults and checks the options against the sample; every problem reported at once. */
export function resolveFusionOptions(
  partial: Partial<FusionOptions>,
  info: KvSampleInfo,
): ResolvedFusionOptions {
  const o: FusionOptions = { ...DEFAULT_FUSION_OPTIONS, ...stripUndefined(partial) };
  const c = new IssueCollector();
  if (o.mode !== 'bff' && o.mode !== 'cff')
    c.add('options.mode', `expected bff or cff, got ${JSON.stringify(o.mode)}`);
  if (!Array.isArray(o.thresholds) || o.thresholds.length === 0)
    c.add('options.threshold', 'expected at least one threshold');
  else
    o.thresholds.forEach((t, i) => {
      if (typeof t !== 'number' || !Number.isFinite(t) || t < -1 || t > 1) {
        c.add(
          o.thresholds.length > 1 ? `options.threshold[${i}]` : 'options.threshold',
          `${t} is outside [-1, 1] (a cosine threshold)`,
        );
      }
    });
  if (!['mean', 'weighted', 'keep-representative'].includes(o.merge))
    c.add('options.merge', `expected mean, weighted or keep-representative, got ${JSON.stringify(o.merge)}`);
  if (o.scope !== 'global' && o.scope !== 'tenant')
    c.add('options.scope', `expected global or tenant, got ${JSON.stringify(o.scope)}`);
  if (o.scope === 'tenant' && !info.tenants)
    c.add('options.scope', 'scope tenant needs the sample\'s "tenants" metadata');
  for (const k of ['skipFirstLayers', 'skipLastLayers'] as const) {
    if (!Number.isInteger(o[k]) || o[k] < 0) c.add(`options.${k}`, `expected an integer >= 0, got ${o[k]}`);
  }
  if (o.fusedLayers !== null) {
    if (!Array.isArray(o.fusedLayers))
      c.add('options.fusedLayers', 'expected an array of layer indices or null');
    else
      o.fusedLayers.forEach((l, i) => {
        if (!Number.isInteger(l) || l < 0 || l >= info.numLayers)
          c.add(`options.fusedLayers[${i}]`, `layer ${l} does not exist (0..${info.numLayers - 1})`);
      });
  }
  if (!Number.isInteger(o.chunkTokens) || o.chunkTokens <= 0 || o.chunkTokens % info.blockSize !== 0) {
    c.add(
      'options.chunkTokens',
      `expected a positive multiple of the block size ${info.blockSize}, got ${o.chunkTokens}`,
    );
  }
  if (!Number.isInteger(o.window) || o.window < 1)
    c.add('options.window', `expected an integer >= 1, got ${o.window}`);
  else if (o.mode === 'cff' && c.ok) {
    const longest = Math.max(0, ...info.seqLens);
    if (o.window * o.chunkTokens > longest) {
      c.add(
        'options.window',
        `a window of ${o.window} chunks x ${o.chunkTokens} tokens (${o.window * o.chunkTokens} tokens) is larger than the longest prompt (${longest} tokens)`,
      );
    }
  }
  if (o.search !== 'dense' && o.search !== 'sketch')
    c.add('options.search', `expected dense or sketch, got ${JSON.stringify(o.search)}`);
  if (!Number.isInteger(o.sketchDim) || o.sketchDim < 8)
    c.add('options.sketchDim', `expected an integer >= 8, got ${o.sketchDim}`);
  if (!Number.isInteger(o.sketchMinItems) || o.sketchMinItems < 0)
    c.add('options.sketchMinItems', `expected an integer >= 0, got ${o.sketchMinItems}`);
  if (o.sketchMargin !== null && !(o.sketchMargin >= 0 && o.sketchMargin <= 2))
    c.add('options.sketchMargin', `expected a number in [0, 2] or null, got ${o.sketchMargin}`);
  if (o.removeRope) {
    if (info.rope.state !== 'applied')
      c.add('options.removeRope', "the sample's keys have no RoPE to remove (metadata rope=removed)");
    else if (info.rope.theta === null) c.add('options.removeRope', 'the sample has no rope_theta metadata');
    if (info.headDim % 2 !== 0) c.add('options.removeRope', `head dim ${info.headDim} is odd`);
  }
  if (!Number.isInteger(o.topK) || o.topK < 1)
    c.add('options.topK', `expected an integer >= 1, got ${o.topK}`);
  if (!Number.isInteger(o.proxyQueries) || o.proxyQueries < 1)
    c.add('options.proxyQueries', `expected an integer >= 1, got ${o.proxyQueries}`);
  c.throwIfAny();
  let fused: number[];
  if (o.fusedLayers) fused = [...new Set(o.fusedLayers)].sort((a, b) => a - b);
  else {
    fused = [];
    for (let l = o.skipFirstLayers; l < info.numLayers - o.skipLastLayers; l++) fused.push(l);
  }
  return { ...o, fused, sketchMarginResolved: o.sketchMargin ?? 3 / Math.sqrt(o.sketchDim) };
}

function stripUndefined<T extends object>(x: T): Partial<T> {
  const out: Partial<T> = {};
  for (const [k, v] of Object.entries(x)) if (v !== undefined) (out as Record<string, unknown>)[k] = v;
  return out;
}
