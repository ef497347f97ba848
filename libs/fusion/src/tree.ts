/**
 * The paper's tree merge (DESIGN.md "Fusion semantics"), for one threshold, over the items
 * (full blocks) of one layer. Pure bookkeeping: the similarity search is a PairFinder.
 */

/** Unit key and value directions of the items of one layer, with their norms. */
export interface ItemStore {
  N: number;
  D: number;
  keyDir: Float32Array;
  valDir: Float32Array;
  keyNorm: Float32Array;
  valNorm: Float32Array;
}

/** A surviving vector: a cluster of items represented by its head (the left-most item). */
export interface Cluster {
  head: number;
  /** Unit key direction (a view of the item's own when pristine). */
  dir: Float32Array;
  vdir: Float32Array;
  /** True while dir is the head item's original direction. */
  pristine: boolean;
  size: number;
  /** Search-private cache (the sketch finder keeps the cluster's sketch here). */
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
  /** For each left cluster, the indices of the right clusters with cosine > t (exact), ascending. */
  find(node: MergeNode, left: Cluster[], right: Cluster[], t: number): Int32Array[];
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
}

/** Runs every tree at threshold t. Node keys are assigned in the same order for every t. */
export function runTrees(
  store: ItemStore,
  trees: TreeSpec[],
  t: number,
  opts: TreeRunOptions,
  finder: PairFinder,
): TreeRunResult {
  const { N, D } = store;
  const next = new Int32Array(N).fill(-1);
  const tail = new Int32Array(N);
  for (let i = 0; i < N; i++) tail[i] = i;
  const nodes: NodeCount[] = [];
  let keyCounter = 0;
  const all: Cluster[] = [];

  const leafClusters = (lo: number, hi: number): Cluster[] => {
    const out: Cluster[] = [];
    for (let i = lo; i < hi; i++) {
      out.push({
        head: i,
        dir: store.keyDir.subarray(i * D, i * D + D),
        vdir: store.valDir.subarray(i * D, i * D + D),
        pristine: true,
        size: 1,
        sketch: null,
      });
    }
    return out;
  };

  const visit = (leaves: Array<[number, number]>, lo: number, hi: number): Cluster[] => {
    if (hi - lo === 1) {
      const c = leafClusters(leaves[lo][0], leaves[lo][1]);
      nodes.push({ leaves: 1, items: c.length, survivors: c.length });
      return c;
    }
    const key = keyCounter++;
    const mid = lo + Math.floor((hi - lo) / 2);
    const left = visit(leaves, lo, mid);
    const right = visit(leaves, mid, hi);
    const node: MergeNode = {
      key,
      leftStart: leaves[lo][0],
      leftEnd: leaves[mid - 1][1],
      rightStart: leaves[mid][0],
      rightEnd: leaves[hi - 1][1],
    };
    const merged =
      left.length && right.length
        ? mergeOnce(store, node, left, right, t, opts, finder, next, tail)
        : [...left, ...right];
    nodes.push({ leaves: hi - lo, items: node.rightEnd - node.leftStart, survivors: merged.length });
    return merged;
  };

  let inTrees = 0;
  for (const tree of trees) {
    if (tree.leaves.length === 0) continue;
    const cl = visit(tree.leaves, 0, tree.leaves.length);
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

function mergeOnce(
  store: ItemStore,
  node: MergeNode,
  left: Cluster[],
  right: Cluster[],
  t: number,
  opts: TreeRunOptions,
  finder: PairFinder,
  next: Int32Array,
  tail: Int32Array,
): Cluster[] {
  const D = store.D;
  const matches = finder.find(node, left, right, t);
  const lastMatch = new Int32Array(right.length).fill(-1);
  const updates: Array<{ a: number; dir: Float32Array; vdir: Float32Array }> = [];
  const acc = new Float64Array(D);
  for (let a = 0; a < left.length; a++) {
    let ms: ArrayLike<number> = matches[a];
    if (opts.tenant) {
      const ta = opts.tenant[left[a].head];
      ms = Array.from(ms).filter((b) => opts.tenant![right[b].head] === ta);
    }
    if (ms.length === 0) continue;
    for (let k = 0; k < ms.length; k++) lastMatch[ms[k]] = a;
    if (opts.merge === 'keep-representative') continue;
    // Plain mean (or size-weighted) of the unit directions, then renormalised.
    const weighted = opts.merge === 'weighted';
    const la = left[a];
    const kv: Float32Array[] = [la.dir];
    const vv: Float32Array[] = [la.vdir];
    const ws: number[] = [weighted ? la.size : 1];
    for (let k = 0; k < ms.length; k++) {
      const rb = right[ms[k]];
      kv.push(rb.dir);
      vv.push(rb.vdir);
      ws.push(weighted ? rb.size : 1);
    }
    const kd = meanDirection(kv, ws, D, acc);
    const vd = meanDirection(vv, ws, D, acc);
    updates.push({ a, dir: kd, vdir: vd });
  }
  for (const u of updates) {
    const c = left[u.a];
    c.dir = u.dir;
    c.vdir = u.vdir;
    c.pristine = false;
    c.sketch = null;
  }
  const out = left.slice();
  for (let b = 0; b < right.length; b++) {
    const a = lastMatch[b];
    if (a < 0) {
      out.push(right[b]);
      continue;
    }
    // A right vector matched by several left vectors maps to the last of them.
    const head = left[a].head;
    const h2 = right[b].head;
    next[tail[head]] = h2;
    tail[head] = tail[h2];
    left[a].size += right[b].size;
  }
  return out;
}

/**
 * The unit direction of sum_k ws[k] vs[k] (zero when the sum is zero): summed in float64, its
 * squared norm taken on the last pass, then scaled once into a new float32 vector.
 */
function meanDirection(vs: Float32Array[], ws: number[], D: number, acc: Float64Array): Float32Array {
  const last = vs.length - 1;
  const v0 = vs[0];
  const w0 = ws[0];
  let s = 0;
  if (last === 0) {
    for (let d = 0; d < D; d++) {
      const x = w0 * v0[d];
      acc[d] = x;
      s += x * x;
    }
  } else {
    if (w0 === 1) for (let d = 0; d < D; d++) acc[d] = v0[d];
    else for (let d = 0; d < D; d++) acc[d] = w0 * v0[d];
    for (let k = 1; k < last; k++) {
      const v = vs[k];
      const w = ws[k];
      if (w === 1) for (let d = 0; d < D; d++) acc[d] += v[d];
      else for (let d = 0; d < D; d++) acc[d] += w * v[d];
    }
    const v = vs[last];
    const w = ws[last];
    for (let d = 0; d < D; d++) {
      const x = acc[d] + w * v[d];
      acc[d] = x;
      s += x * x;
    }
  }
  const out = new Float32Array(D);
  if (s > 0) {
    const inv = 1 / Math.sqrt(s);
    for (let d = 0; d < D; d++) out[d] = acc[d] * inv;
  }
  return out;
}
