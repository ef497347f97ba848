import { AttentionProbe, type AttentionError, type QuerySource } from './attention';
import { blockDim, fullBlocks, type KvLayer, type KvSampleInfo } from './kv-types';
import type { ResolvedFusionOptions } from './options';
import { applyRope, ropeInverseFrequencies } from './rope';
import {
  DenseFinder,
  emptyStats,
  newHistogram,
  SketchFinder,
  type SearchStats,
  type SimilarityHistogram,
} from './search';
import { RowPool, treeSteps, type ItemStore, type PairFinder, type TreeSpec } from './tree';
import { runProducts, runProductsAsync, type Products } from './products';
import { dot, norm } from './vec';

/** Which full blocks take part in fusion and how they are grouped into trees. */
export interface ItemPlan {
  /** Per item: its sequence and block. Items of one leaf are contiguous, leaves in tree order. */
  seqOf: Int32Array;
  blockOf: Int32Array;
  trees: TreeSpec[];
  /** Full blocks of the layer (fused or not). */
  totalBlocks: number;
  /** Blocks per leaf (BFF: mean full blocks per sequence; CFF: blocks per chunk). */
  blocksPerLeaf: number;
}

/**
 * BFF: one tree whose leaves are the sequences (all their full blocks). CFF: per sequence,
 * chunks of chunkTokens tokens grouped in disjoint windows of `window` chunks, one tree per
 * window; chunks past the last full window (and partial chunks) are not fused.
 */
export function planItems(
  info: KvSampleInfo,
  o: Pick<ResolvedFusionOptions, 'mode' | 'chunkTokens' | 'window'>,
): ItemPlan {
  const full = fullBlocks(info);
  const seq: number[] = [];
  const blk: number[] = [];
  const trees: TreeSpec[] = [];
  const totalBlocks = full.reduce((a, b) => a + b, 0);
  if (o.mode === 'bff') {
    const leaves: Array<[number, number]> = [];
    for (let i = 0; i < info.numSeqs; i++) {
      const start = seq.length;
      for (let j = 0; j < full[i]; j++) {
        seq.push(i);
        blk.push(j);
      }
      leaves.push([start, seq.length]);
    }
    trees.push({ leaves });
    return {
      seqOf: Int32Array.from(seq),
      blockOf: Int32Array.from(blk),
      trees,
      totalBlocks,
      blocksPerLeaf: info.numSeqs ? totalBlocks / info.numSeqs : 0,
    };
  }
  const perChunk = o.chunkTokens / info.blockSize;
  for (let i = 0; i < info.numSeqs; i++) {
    const chunks = Math.floor(full[i] / perChunk);
    const windows = Math.floor(chunks / o.window);
    for (let w = 0; w < windows; w++) {
      const leaves: Array<[number, number]> = [];
      for (let c = 0; c < o.window; c++) {
        const start = seq.length;
        const b0 = (w * o.window + c) * perChunk;
        for (let j = b0; j < b0 + perChunk; j++) {
          seq.push(i);
          blk.push(j);
        }
        leaves.push([start, seq.length]);
      }
      trees.push({ leaves });
    }
  }
  return {
    seqOf: Int32Array.from(seq),
    blockOf: Int32Array.from(blk),
    trees,
    totalBlocks,
    blocksPerLeaf: perChunk,
  };
}

export interface LayerDistortion {
  /** ||K' - K|| / ||K|| over the layer's full blocks. */
  keyRelL2: number;
  valueRelL2: number;
  /** Lowest cosine between a block and its reconstruction (1 when nothing fused). */
  keyWorstCos: number;
  valueWorstCos: number;
  /** Attention-output error, or null when not computed. */
  attention: AttentionError | null;
}

/** Survivors of the merge nodes of one size (number of leaves), summed over nodes. */
export interface NodePoint {
  leaves: number;
  nodes: number;
  blocks: number;
  surviving: number;
}

export interface LayerThresholdResult {
  threshold: number;
  totalBlocks: number;
  survivingBlocks: number;
  /** Blocks that took part in fusion (CFF: those inside full windows). */
  candidateBlocks: number;
  distortion: LayerDistortion | null;
  /**
   * For every block slot (sequence s, block j at s * maxBlocks + j): the slot of the block it now
   * maps to (itself when not fused); -1 for slots that are not full blocks. Null unless kept.
   */
  representative: Int32Array | null;
  /** Reconstructed keys and values, in the layer's layout. Null unless kept. */
  key: Float32Array | null;
  value: Float32Array | null;
  points: NodePoint[];
  search: SearchStats;
  seconds: number | null;
  /** With a clock: seconds in the tree merge (search included), the rebuild and error sums, and the attention probe. */
  phases: { merge: number; rebuild: number; attention: number } | null;
}

export interface LayerFusionResult {
  layer: number;
  fused: boolean;
  /** The search that ran (null when not fused): `dense` where the sketch was asked for but dropped (sketchMinItems). */
  searchUsed: 'dense' | 'sketch' | null;
  totalBlocks: number;
  querySource: QuerySource | null;
  thresholds: LayerThresholdResult[];
  /** Cosines of all cross-leaf pairs of original blocks (dense search only). */
  similarity: SimilarityHistogram | null;
  search: SearchStats;
  seconds: number | null;
  /** With a clock: seconds preparing the items (gather, unit vectors, RoPE) and the attention reference. */
  prepareSeconds: number | null;
}

function addStats(a: SearchStats, b: SearchStats): SearchStats {
  const sum = (x: number | null, y: number | null): number | null =>
    x === null && y === null ? null : (x ?? 0) + (y ?? 0);
  return {
    denseFlops: a.denseFlops + b.denseFlops,
    denseSeconds: sum(a.denseSeconds, b.denseSeconds),
    sketchFlops: a.sketchFlops + b.sketchFlops,
    sketchSeconds: sum(a.sketchSeconds, b.sketchSeconds),
    candidates: a.candidates + b.candidates,
    pairsFound: a.pairsFound + b.pairsFound,
    pairsTrue: sum(a.pairsTrue, b.pairsTrue),
    pairsTrueFound: sum(a.pairsTrueFound, b.pairsTrueFound),
  };
}

function diffStats(after: SearchStats, before: SearchStats): SearchStats {
  const neg: SearchStats = {
    denseFlops: -before.denseFlops,
    denseSeconds: before.denseSeconds === null ? null : -before.denseSeconds,
    sketchFlops: -before.sketchFlops,
    sketchSeconds: before.sketchSeconds === null ? null : -before.sketchSeconds,
    candidates: -before.candidates,
    pairsFound: -before.pairsFound,
    pairsTrue: before.pairsTrue === null ? null : -before.pairsTrue,
    pairsTrueFound: before.pairsTrueFound === null ? null : -before.pairsTrueFound,
  };
  return addStats(after, neg);
}

function identityMapping(info: KvSampleInfo): Int32Array {
  const full = fullBlocks(info);
  const rep = new Int32Array(info.numSeqs * info.maxBlocks).fill(-1);
  for (let i = 0; i < info.numSeqs; i++)
    for (let j = 0; j < full[i]; j++) rep[i * info.maxBlocks + j] = i * info.maxBlocks + j;
  return rep;
}

/**
 * The merged clusters' arrays of the last fused layer, for the next one of the same block size
 * (one layer's worth: as much as a layer holds while it is fused; fresh arrays for every layer
 * cost more in allocation and collections than the sums written into them).
 */
let sparePool: RowPool | null = null;

/**
 * Fuses one layer at every threshold of the options (BFF or CFF, per DESIGN.md) and measures
 * what it did. The similarity work is shared across thresholds where the tree allows it. The
 * kernel's products are synchronous here; {@link fuseLayerAsync} awaits them.
 */
export function fuseLayer(
  layer: KvLayer,
  info: KvSampleInfo,
  o: ResolvedFusionOptions,
  plan: ItemPlan = planItems(info, o),
): LayerFusionResult {
  return runProducts(fuseLayerSteps(layer, info, o, plan), o.kernel);
}

/**
 * fuseLayer with each similarity product awaited (the kernel's `gramAsync` where it has one: a
 * device read back asynchronously); the same results.
 */
export function fuseLayerAsync(
  layer: KvLayer,
  info: KvSampleInfo,
  o: ResolvedFusionOptions,
  plan: ItemPlan = planItems(info, o),
): Promise<LayerFusionResult> {
  return runProductsAsync(fuseLayerSteps(layer, info, o, plan), o.kernel);
}

function* fuseLayerSteps(
  layer: KvLayer,
  info: KvSampleInfo,
  o: ResolvedFusionOptions,
  plan: ItemPlan,
): Products<LayerFusionResult> {
  const clock = o.clock;
  const t0 = clock ? clock() : 0;
  const D = blockDim(info);
  const fused = o.fused.includes(layer.layer);
  if (!fused) {
    return {
      layer: layer.layer,
      fused: false,
      searchUsed: null,
      totalBlocks: plan.totalBlocks,
      querySource: null,
      thresholds: o.thresholds.map((threshold) => ({
        threshold,
        totalBlocks: plan.totalBlocks,
        survivingBlocks: plan.totalBlocks,
        candidateBlocks: 0,
        distortion: null,
        representative: o.keepMapping ? identityMapping(info) : null,
        key: o.keepReconstruction ? layer.key : null,
        value: o.keepReconstruction ? layer.value : null,
        points: [],
        search: emptyStats(),
        seconds: null,
        phases: null,
      })),
      similarity: null,
      search: emptyStats(),
      seconds: null,
      prepareSeconds: null,
    };
  }

  // Items: the full blocks in tree order, by their offsets and norms (keys compared with RoPE
  // removed when asked).
  const N = plan.seqOf.length;
  const slotOff = (m: number): number => (plan.seqOf[m] * info.maxBlocks + plan.blockOf[m]) * D;
  let compareKeys = layer.key;
  let inv: Float64Array | null = null;
  if (o.removeRope) {
    inv = ropeInverseFrequencies(info.headDim, info.rope.theta!, info.rope.scaling);
    compareKeys = layer.key.slice();
    applyRope(compareKeys, info, inv, -1);
  }
  const store: ItemStore = {
    N,
    D,
    key: compareKeys,
    value: layer.value,
    offset: new Int32Array(N),
    keyNorm: new Float32Array(N),
    valNorm: new Float32Array(N),
  };
  let cachePairs = 0;
  let largestTree = 0;
  for (const tr of plan.trees) {
    const n = tr.leaves.length ? tr.leaves[tr.leaves.length - 1][1] - tr.leaves[0][0] : 0;
    cachePairs += (n * n) / 2;
    largestTree = Math.max(largestTree, n);
  }
  const searchUsed = o.search === 'sketch' && largestTree < o.sketchMinItems ? 'dense' : o.search;
  // The cosines of all original cross-leaf pairs are computed once (and give the similarity
  // histogram for free) when several thresholds share them or the histogram is asked for; a
  // single threshold compares only the survivors of each merge, which is less work.
  const useCache =
    searchUsed === 'dense' &&
    (o.thresholds.length > 1 || o.similarityHistogram) &&
    cachePairs <= o.maxCacheFloats;
  const histogram = useCache ? newHistogram() : null;
  const finder: PairFinder & { stats: SearchStats } =
    searchUsed === 'dense'
      ? new DenseFinder(store, { cache: useCache, histogram, clock, kernel: o.kernel })
      : new SketchFinder(store, {
          dim: o.sketchDim,
          margin: o.sketchMarginResolved,
          seed: o.sketchSeed + layer.layer,
          measureRecall: o.measureRecall,
          clock,
          kernel: o.kernel,
        });
  for (let m = 0; m < N; m++) {
    const off = slotOff(m);
    store.offset[m] = off;
    // Sets store.keyNorm[m].
    finder.prepareItem(m);
    store.valNorm[m] = norm(layer.value, off, D);
  }
  // Reference norms of the layer's full blocks (the same at every threshold).
  let kRef2 = 0;
  let vRef2 = 0;
  for (let m = 0; m < N; m++) {
    kRef2 += store.keyNorm[m] * store.keyNorm[m];
    vRef2 += store.valNorm[m] * store.valNorm[m];
  }
  // Full blocks outside the trees (CFF tails) count in the reference norms too.
  if (N < plan.totalBlocks) {
    const inItems = new Set<number>();
    for (let m = 0; m < N; m++) inItems.add(plan.seqOf[m] * info.maxBlocks + plan.blockOf[m]);
    const full = fullBlocks(info);
    for (let i = 0; i < info.numSeqs; i++)
      for (let j = 0; j < full[i]; j++) {
        const s = i * info.maxBlocks + j;
        if (inItems.has(s)) continue;
        kRef2 += dot(layer.key, s * D, layer.key, s * D, D);
        vRef2 += dot(layer.value, s * D, layer.value, s * D, D);
      }
  }
  let tenant: Int32Array | null = null;
  if (o.scope === 'tenant' && info.tenants) {
    const ids = new Map<string, number>();
    tenant = new Int32Array(N);
    for (let m = 0; m < N; m++) {
      const name = info.tenants[plan.seqOf[m]];
      if (!ids.has(name)) ids.set(name, ids.size);
      tenant[m] = ids.get(name)!;
    }
  }

  const probe = o.attention
    ? new AttentionProbe(layer, info, { topK: o.topK, proxyQueries: o.proxyQueries })
    : null;
  const tPrepared = clock ? clock() : 0;
  const results: LayerThresholdResult[] = [];
  const pool = sparePool && sparePool.D === D ? sparePool : new RowPool(D);
  sparePool = null;
  try {
    for (const t of o.thresholds) {
      const ts = clock ? clock() : 0;
      const before = { ...finder.stats };
      const run = yield* treeSteps(store, plan.trees, t, { merge: o.merge, tenant, pool }, finder);
      const tMerged = clock ? clock() : 0;
      const search = diffStats(finder.stats, before);

      // Rebuild every block of a cluster that changed: its cluster's direction times its own norm
      // (or, keeping the representative, the head block itself). The errors are computed in the
      // comparison space from unit directions and norms (a rotation such as RoPE changes neither),
      // so the reconstructed tensors are only materialised when asked for or needed by the
      // attention probe.
      const needArrays = probe !== null || o.keepReconstruction;
      const key = needArrays ? layer.key.slice() : null;
      const value = needArrays ? layer.value.slice() : null;
      const changedSeqs = new Set<number>();
      const heads = new Map<number, (typeof run.clusters)[number]>();
      // A left vector whose matches all mapped to later left vectors keeps size 1 but has a new
      // direction (the mean it formed), so it is rebuilt too.
      for (const c of run.clusters) if (c.size > 1 || !c.pristine) heads.set(c.head, c);
      const keep = o.merge === 'keep-representative';
      let kErr2 = 0;
      let vErr2 = 0;
      let kWorst = 1;
      let vWorst = 1;
      for (let m = 0; m < N; m++) {
        const c = heads.get(run.rep[m]);
        if (!c) continue;
        if (keep && m === c.head) continue;
        const h = c.head;
        const kn = store.keyNorm[m];
        const vn = store.valNorm[m];
        changedSeqs.add(plan.seqOf[m]);
        if (keep) {
          const kh = store.keyNorm[h];
          const vh = store.valNorm[h];
          const kc =
            kh > 0 && kn > 0 ? dot(compareKeys, slotOff(h), compareKeys, slotOff(m), D) / (kh * kn) : 0;
          const vc =
            vh > 0 && vn > 0 ? dot(layer.value, slotOff(h), layer.value, slotOff(m), D) / (vh * vn) : 0;
          kErr2 += Math.max(0, kh * kh + kn * kn - 2 * kh * kn * kc);
          vErr2 += Math.max(0, vh * vh + vn * vn - 2 * vh * vn * vc);
          kWorst = Math.min(kWorst, kh > 0 && kn > 0 ? kc : kh === kn ? 1 : 0);
          vWorst = Math.min(vWorst, vh > 0 && vn > 0 ? vc : vh === vn ? 1 : 0);
        } else {
          // c changed: c.dir x c.dscale and c.vdir x c.vscale are unit directions.
          const kc = kn > 0 ? (dot(c.dir, 0, compareKeys, slotOff(m), D) * c.dscale) / kn : 0;
          const vc = vn > 0 ? (dot(c.vdir, 0, layer.value, slotOff(m), D) * c.vscale) / vn : 0;
          kErr2 += kn * kn * Math.max(0, 2 - 2 * kc);
          vErr2 += vn * vn * Math.max(0, 2 - 2 * vc);
          kWorst = Math.min(kWorst, kn > 0 ? kc : 1);
          vWorst = Math.min(vWorst, vn > 0 ? vc : 1);
        }
        if (!key || !value) continue;
        const off = slotOff(m);
        if (keep) {
          key.set(compareKeys.subarray(slotOff(h), slotOff(h) + D), off);
          value.set(layer.value.subarray(slotOff(h), slotOff(h) + D), off);
        } else {
          const kd = c.dir;
          const vd = c.vdir;
          const ks = c.dscale;
          const vs = c.vscale;
          for (let d = 0; d < D; d++) {
            key[off + d] = Math.fround(kd[d] * ks) * kn;
            value[off + d] = Math.fround(vd[d] * vs) * vn;
          }
        }
        if (inv) ropeBlock(key, info, inv, plan.seqOf[m], plan.blockOf[m], D);
      }
      const tRebuilt = clock ? clock() : 0;
      const attention = probe && key && value ? probe.evaluate(key, value, changedSeqs) : null;
      const tAttended = clock ? clock() : 0;

      let representative: Int32Array | null = null;
      if (o.keepMapping) {
        representative = identityMapping(info);
        for (let m = 0; m < N; m++) {
          const r = run.rep[m];
          representative[plan.seqOf[m] * info.maxBlocks + plan.blockOf[m]] =
            plan.seqOf[r] * info.maxBlocks + plan.blockOf[r];
        }
      }
      for (const c of run.clusters)
        if (!c.pristine) {
          pool.give(c.dir);
          pool.give(c.vdir);
        }
      const byLeaves = new Map<number, NodePoint>();
      for (const n of run.nodes) {
        if (n.leaves < 2) continue;
        const p = byLeaves.get(n.leaves) ?? { leaves: n.leaves, nodes: 0, blocks: 0, surviving: 0 };
        p.nodes++;
        p.blocks += n.items;
        p.surviving += n.survivors;
        byLeaves.set(n.leaves, p);
      }
      results.push({
        threshold: t,
        totalBlocks: plan.totalBlocks,
        survivingBlocks: plan.totalBlocks - run.fusedAway,
        candidateBlocks: N,
        distortion: {
          keyRelL2: kRef2 > 0 ? Math.sqrt(kErr2 / kRef2) : 0,
          valueRelL2: vRef2 > 0 ? Math.sqrt(vErr2 / vRef2) : 0,
          keyWorstCos: kWorst,
          valueWorstCos: vWorst,
          attention,
        },
        representative,
        key: o.keepReconstruction ? key : null,
        value: o.keepReconstruction ? value : null,
        points: [...byLeaves.values()].sort((a, b) => a.leaves - b.leaves),
        search,
        seconds: clock ? (clock() - ts) / 1000 : null,
        phases: clock
          ? {
              merge: (tMerged - ts) / 1000,
              rebuild: (tRebuilt - tMerged) / 1000,
              attention: (tAttended - tRebuilt) / 1000,
            }
          : null,
      });
    }
  } finally {
    finder.dispose();
    sparePool = pool;
  }
  return {
    layer: layer.layer,
    fused: true,
    searchUsed,
    totalBlocks: plan.totalBlocks,
    querySource: probe ? probe.querySource : null,
    thresholds: results,
    similarity: histogram,
    // All of the finder's work, the items it prepared included.
    search: { ...finder.stats },
    seconds: clock ? (clock() - t0) / 1000 : null,
    prepareSeconds: clock ? (tPrepared - t0) / 1000 : null,
  };
}

/** Re-applies RoPE to one block (seq, block) of a layer buffer, at that block's own positions. */
function ropeBlock(
  buf: Float32Array,
  info: KvSampleInfo,
  inv: Float64Array,
  seq: number,
  block: number,
  D: number,
): void {
  const { blockSize: bs, numKvHeads: H, headDim: hd } = info;
  const half = hd / 2;
  const p0 = (info.positions?.[seq] ?? 0) + block * bs;
  const off = (seq * info.maxBlocks + block) * D;
  for (let t = 0; t < bs; t++) {
    const p = p0 + t;
    for (let k = 0; k < half; k++) {
      const a = p * inv[k];
      const c = Math.cos(a);
      const s = Math.sin(a);
      for (let h = 0; h < H; h++) {
        const o = off + (t * H + h) * hd;
        const x = buf[o + k];
        const y = buf[o + k + half];
        buf[o + k] = x * c - y * s;
        buf[o + k + half] = y * c + x * s;
      }
    }
  }
}
