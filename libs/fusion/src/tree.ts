/**
 * The paper's tree merge (DESIGN.md "Fusion semantics"), for one threshold, over the items
 * (full blocks) of one layer. Pure bookkeeping: the similarity search is a PairFinder.
 */

import type { SimilarityKernel } from './kernel';
import { runProducts, type Products } from './products';

/**
 * The items of one layer as they are: item m's key (in the comparison space) and value rows at
 * key[offset[m]] and value[offset[m]], with their norms. Nothing is normalised up front: a unit
 * direction is a row times 1 / norm, applied where it is read (a pass over every 16,384-float
 * row costs more than the scaling).
 */
export interface ItemStore {
  N: number;
  D: number;
  key: Float32Array;
  value: Float32Array;
  offset: Int32Array;
  keyNorm: Float32Array;
  valNorm: Float32Array;
}

/** A surviving vector: a cluster of items represented by its head (the left-most item). */
export interface Cluster {
  head: number;
  /**
   * The key direction up to scale: dir times dscale is the unit direction. While pristine a view
   * of the head item's key row (dscale 1 / its norm); once merged the cluster's own array holding
   * the weighted sum of its parts' unit directions (dscale 1 / that sum's norm: the sum is not
   * rescaled in place, a pass over 16,384 floats that every reader's scaling makes needless).
   */
  dir: Float32Array;
  dscale: number;
  /** Value direction times 1 / vscale, likewise. */
  vdir: Float32Array;
  vscale: number;
  /** True while dir is the head item's original direction. */
  pristine: boolean;
  size: number;
  /** Search-private cache (the sketch finder keeps the sketch of dir here, at dir's scale). */
  sketch: Float32Array | null;
}

/** A merge: left items [leftStart, leftEnd), right items [rightStart, rightEnd), contiguous. */
export interface MergeNode {
  /** Stable id of the node (the same for every threshold), used by caches. */
  key: number;
  leftStart: number;
  leftEnd: number;
  rightStart: number;
  rightEnd: number;
}

export interface PairFinder {
  /** The kernel that answers the products the finder asks for. */
  readonly kernel: SimilarityKernel;
  /**
   * For each left cluster, the indices of the right clusters with cosine > t (exact), ascending;
   * the similarity products it needs are asked for as it goes (Products).
   */
  find(node: MergeNode, left: Cluster[], right: Cluster[], t: number): Products<Int32Array[]>;
  /**
   * Called for every item, in order, before any find: writes the item's key norm into
   * store.keyNorm[m] (a finder that reads the row anyway takes the norm in the same pass).
   */
  prepareItem(m: number): void;
  /**
   * Optional: the search-private cache of a cluster whose new dir is the sum over k of ws[k]
   * times parts[k]'s unit direction (parts[0] is the cluster itself before the merge). Called
   * before the merge writes anything: a merged cluster's arrays are updated in place.
   */
  mergedSketch?(parts: Cluster[], ws: number[]): Float32Array | null;
  dispose(): void;
}

export type MergeRule = 'mean' | 'weighted' | 'keep-representative';

/** A tree: its leaves as contiguous, ascending item ranges. */
export interface TreeSpec {
  leaves: Array<[number, number]>;
}

export interface NodeCount {
  /** Leaves under the node (sequences in BFF, chunks in CFF). */
  leaves: number;
  items: number;
  survivors: number;
}

export interface TreeRunResult {
  /** Item -> its representative item (itself when it was not fused). */
  rep: Int32Array;
  /** Final clusters of every tree, by head item. */
  clusters: Cluster[];
  /** Items that were fused away (total minus surviving). */
  fusedAway: number;
  /** Every node of every tree (leaves included), with its items and survivors. */
  nodes: NodeCount[];
}

export interface TreeRunOptions {
  merge: MergeRule;
  /** Item -> tenant id; clusters of different tenants never fuse. Null: global scope. */
  tenant: Int32Array | null;
  /** Where merged clusters' arrays come from (default: a fresh pool). */
  pool?: RowPool;
}

/** Runs every tree at threshold t on the finder's kernel (synchronous). */
export function runTrees(
  store: ItemStore,
  trees: TreeSpec[],
  t: number,
  opts: TreeRunOptions,
  finder: PairFinder,
): TreeRunResult {
  return runProducts(treeSteps(store, trees, t, opts, finder), finder.kernel);
}

/** Runs every tree at threshold t, asking for products as it goes. Node keys are assigned in the same order for every t. */
export function* treeSteps(
  store: ItemStore,
  trees: TreeSpec[],
  t: number,
  opts: TreeRunOptions,
  finder: PairFinder,
): Products<TreeRunResult> {
  const { N, D } = store;
  const next = new Int32Array(N).fill(-1);
  const tail = new Int32Array(N);
  for (let i = 0; i < N; i++) tail[i] = i;
  const nodes: NodeCount[] = [];
  let keyCounter = 0;
  const all: Cluster[] = [];
  const pool = opts.pool ?? new RowPool(D);

  const leafClusters = (lo: number, hi: number): Cluster[] => {
    const out: Cluster[] = [];
    for (let i = lo; i < hi; i++) {
      out.push({
        head: i,
        dir: store.key.subarray(store.offset[i], store.offset[i] + D),
        dscale: store.keyNorm[i] > 0 ? 1 / store.keyNorm[i] : 0,
        vdir: store.value.subarray(store.offset[i], store.offset[i] + D),
        vscale: store.valNorm[i] > 0 ? 1 / store.valNorm[i] : 0,
        pristine: true,
        size: 1,
        sketch: null,
      });
    }
    return out;
  };

  const visit = function* (leaves: Array<[number, number]>, lo: number, hi: number): Products<Cluster[]> {
    if (hi - lo === 1) {
      const c = leafClusters(leaves[lo][0], leaves[lo][1]);
      nodes.push({ leaves: 1, items: c.length, survivors: c.length });
      return c;
    }
    const key = keyCounter++;
    const mid = lo + Math.floor((hi - lo) / 2);
    const left = yield* visit(leaves, lo, mid);
    const right = yield* visit(leaves, mid, hi);
    const node: MergeNode = {
      key,
      leftStart: leaves[lo][0],
      leftEnd: leaves[mid - 1][1],
      rightStart: leaves[mid][0],
      rightEnd: leaves[hi - 1][1],
    };
    const merged =
      left.length && right.length
        ? yield* mergeOnce(node, left, right, t, opts, finder, next, tail, pool)
        : [...left, ...right];
    nodes.push({ leaves: hi - lo, items: node.rightEnd - node.leftStart, survivors: merged.length });
    return merged;
  };

  let inTrees = 0;
  for (const tree of trees) {
    if (tree.leaves.length === 0) continue;
    const cl = yield* visit(tree.leaves, 0, tree.leaves.length);
    inTrees += tree.leaves[tree.leaves.length - 1][1] - tree.leaves[0][0];
    all.push(...cl);
  }
  const rep = new Int32Array(N);
  for (let i = 0; i < N; i++) rep[i] = i;
  let survivors = 0;
  for (const c of all) {
    survivors++;
    for (let m = c.head; m >= 0; m = next[m]) rep[m] = c.head;
  }
  return { rep, clusters: all, fusedAway: inTrees - survivors, nodes };
}

function* mergeOnce(
  node: MergeNode,
  left: Cluster[],
  right: Cluster[],
  t: number,
  opts: TreeRunOptions,
  finder: PairFinder,
  next: Int32Array,
  tail: Int32Array,
  pool: RowPool,
): Products<Cluster[]> {
  const matches = yield* finder.find(node, left, right, t);
  const lastMatch = new Int32Array(right.length).fill(-1);
  const weighted = opts.merge === 'weighted';
  const parts: Cluster[] = [];
  const ws: number[] = [];
  const rows: Float32Array[] = [];
  const scales: number[] = [];
  for (let a = 0; a < left.length; a++) {
    let ms: ArrayLike<number> = matches[a];
    if (opts.tenant) {
      const ta = opts.tenant[left[a].head];
      ms = Array.from(ms).filter((b) => opts.tenant![right[b].head] === ta);
    }
    if (ms.length === 0) continue;
    for (let k = 0; k < ms.length; k++) lastMatch[ms[k]] = a;
    if (opts.merge === 'keep-representative') continue;
    // Plain mean (or size-weighted) of the unit directions, then renormalised (by dscale). Only
    // left[a] changes, and no other left cluster's mean reads it: its own arrays (once merged)
    // take the new sums in place.
    const la = left[a];
    parts.length = 0;
    ws.length = 0;
    parts.push(la);
    ws.push(weighted ? la.size : 1);
    for (let k = 0; k < ms.length; k++) {
      const rb = right[ms[k]];
      parts.push(rb);
      ws.push(weighted ? rb.size : 1);
    }
    const sketch = finder.mergedSketch ? finder.mergedSketch(parts, ws) : null;
    const kd = la.pristine ? pool.take() : la.dir;
    const vd = la.pristine ? pool.take() : la.vdir;
    rows.length = 0;
    scales.length = 0;
    for (let k = 0; k < parts.length; k++) {
      rows.push(parts[k].dir);
      scales.push(ws[k] * parts[k].dscale);
    }
    const kNorm = weightedSum(rows, scales, kd);
    rows.length = 0;
    scales.length = 0;
    for (let k = 0; k < parts.length; k++) {
      rows.push(parts[k].vdir);
      scales.push(ws[k] * parts[k].vscale);
    }
    const vNorm = weightedSum(rows, scales, vd);
    la.dir = kd;
    la.dscale = kNorm > 0 ? 1 / kNorm : 0;
    la.vdir = vd;
    la.vscale = vNorm > 0 ? 1 / vNorm : 0;
    la.pristine = false;
    la.sketch = sketch;
  }
  const out = left.slice();
  for (let b = 0; b < right.length; b++) {
    const a = lastMatch[b];
    if (a < 0) {
      out.push(right[b]);
      continue;
    }
    // A right vector matched by several left vectors maps to the last of them. Its own arrays
    // (read by every mean above) are free from here on.
    const rb = right[b];
    const head = left[a].head;
    const h2 = rb.head;
    next[tail[head]] = h2;
    tail[head] = tail[h2];
    left[a].size += rb.size;
    if (!rb.pristine) {
      pool.give(rb.dir);
      pool.give(rb.vdir);
    }
  }
  return out;
}

/**
 * The arrays of merged clusters: those of clusters fused away are reused by the next means
 * instead of fresh 64 KiB arrays per merge (their zeroing, and the collections that many new
 * array buffers set off, cost about as much as the sums written into them).
 */
export class RowPool {
  private readonly free: Float32Array[] = [];
  constructor(readonly D: number) {}
  /** A row of D floats, contents undefined (the caller overwrites all of them). */
  take(): Float32Array {
    return this.free.pop() ?? new Float32Array(this.D);
  }
  give(row: Float32Array): void {
    if (row.length === this.D && row.byteOffset === 0 && row.buffer.byteLength === this.D * 4)
      this.free.push(row);
  }
}

/**
 * Writes into `out` the sum over k of ws[k] vs[k], rounded to float32 (a handful of unit
 * vectors: the rounding stays near 1e-7), and returns its norm. `out` may be vs[0] itself. The
 * first two terms and the squared norm fused into single passes: the rows are read from memory
 * once each, which is what this costs. At least two terms (a left vector and one match or more).
 */
function weightedSum(vs: Float32Array[], ws: number[], out: Float32Array): number {
  const D = out.length;
  const n = vs.length;
  const v0 = vs[0];
  const w0 = ws[0];
  const v1 = vs[1];
  const w1 = ws[1];
  if (n > 2) {
    for (let d = 0; d < D; d++) out[d] = w0 * v0[d] + w1 * v1[d];
    for (let k = 2; k < n - 1; k++) {
      const v = vs[k];
      const w = ws[k];
      for (let d = 0; d < D; d++) out[d] += w * v[d];
    }
  }
  // The last term, the float32 rounding and the squared norm in one pass; four partial sums so
  // that the additions do not wait on each other.
  const a = n > 2 ? out : v0;
  const wa = n > 2 ? 1 : w0;
  const v = vs[n - 1];
  const w = ws[n - 1];
  let s0 = 0;
  let s1 = 0;
  let s2 = 0;
  let s3 = 0;
  let d = 0;
  for (; d + 3 < D; d += 4) {
    const x0 = Math.fround(wa * a[d] + w * v[d]);
    const x1 = Math.fround(wa * a[d + 1] + w * v[d + 1]);
    const x2 = Math.fround(wa * a[d + 2] + w * v[d + 2]);
    const x3 = Math.fround(wa * a[d + 3] + w * v[d + 3]);
    out[d] = x0;
    out[d + 1] = x1;
    out[d + 2] = x2;
    out[d + 3] = x3;
    s0 += x0 * x0;
    s1 += x1 * x1;
    s2 += x2 * x2;
    s3 += x3 * x3;
  }
  for (; d < D; d++) {
    const x = Math.fround(wa * a[d] + w * v[d]);
    out[d] = x;
    s0 += x * x;
  }
  return Math.sqrt(s0 + s1 + s2 + s3);
}
