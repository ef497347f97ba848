import type { SimilarityKernel } from './kernel';
import type { Products } from './products';
import type { Cluster, ItemStore, MergeNode, PairFinder } from './tree';
import { Sfc32 } from '@kvplan/core';
import { dot, norm } from './vec';

/** Counters of the similarity work, for the speed and recall reports. */
export interface SearchStats {
  /** Multiply-adds x 2 spent in dense similarity matmuls. */
  denseFlops: number;
  /** Seconds in dense similarity matmuls (null without an injected clock). */
  denseSeconds: number | null;
  sketchFlops: number;
  sketchSeconds: number | null;
  /** Candidate pairs the sketch proposed and that were checked exactly. */
  candidates: number;
  /** Pairs above threshold found. */
  pairsFound: number;
  /** With recall measurement: above-threshold pairs of the exact search over the same survivors. */
  pairsTrue: number | null;
  /** Of those, found by the sketch. */
  pairsTrueFound: number | null;
}

export function emptyStats(): SearchStats {
  return {
    denseFlops: 0,
    denseSeconds: null,
    sketchFlops: 0,
    sketchSeconds: null,
    candidates: 0,
    pairsFound: 0,
    pairsTrue: null,
    pairsTrueFound: null,
  };
}

/** Histogram of cosines over [-1, 1]. */
export interface SimilarityHistogram {
  bins: number;
  /** counts[k]: cosines in [-1 + k w, -1 + (k + 1) w), w = 2 / bins (the last bin includes 1). */
  counts: number[];
  total: number;
}

export function newHistogram(bins = 400): SimilarityHistogram {
  return { bins, counts: new Array<number>(bins).fill(0), total: 0 };
}

function addToHistogram(h: SimilarityHistogram, values: Float32Array): void {
  const scale = h.bins / 2;
  for (let i = 0; i < values.length; i++) {
    let k = Math.floor((values[i] + 1) * scale);
    if (k < 0) k = 0;
    else if (k >= h.bins) k = h.bins - 1;
    h.counts[k]++;
  }
  h.total += values.length;
}

function timed<T>(clock: (() => number) | null, f: () => T): [T, number] {
  if (!clock) return [f(), 0];
  const t0 = clock();
  const r = f();
  return [r, (clock() - t0) / 1000];
}

/** Seconds since `t0` (a reading of `clock`), 0 without a clock. */
function since(clock: (() => number) | null, t0: number): number {
  return clock ? (clock() - t0) / 1000 : 0;
}

function now(clock: (() => number) | null): number {
  return clock ? clock() : 0;
}

/**
 * The key directions of the clusters (all, or those at idx), each with the scale that makes it a
 * unit vector; pristine ones are taken from `unit` (the items' unit keys, N x D) when given.
 */
function keyRows(
  cs: Cluster[],
  idx: number[] | null,
  D: number,
  unit: Float32Array | null,
): { rows: Float32Array[]; scales: number[] } {
  const picked = idx ? idx.map((i) => cs[i]) : cs;
  const own = (c: Cluster): boolean => unit !== null && c.pristine;
  return {
    rows: picked.map((c) => (own(c) ? unit!.subarray(c.head * D, c.head * D + D) : c.dir)),
    scales: picked.map((c) => (own(c) ? 1 : c.dscale)),
  };
}

/** Those unit directions as the rows of one matrix (n x D). */
function packDirs(k: { rows: Float32Array[]; scales: number[] }, D: number, into?: Scratch): Float32Array {
  const n = k.rows.length;
  const out = into ? into.take(n * D) : new Float32Array(n * D);
  for (let r = 0; r < n; r++) {
    const v = k.rows[r];
    const s = k.scales[r];
    if (s === 1) out.set(v, r * D);
    else for (let d = 0, o = r * D; d < D; d++) out[o + d] = v[d] * s;
  }
  return out;
}

/** The unit-key matrix of the last DenseFinder, reused by the next one of the same size. */
let spareUnit: Float32Array | null = null;

/**
 * A grow-only float32 buffer for matmul operands that are uploaded and dropped within one call:
 * fresh arrays of tens of MiB per merge cost more in page faults than filling them.
 */
class Scratch {
  private buf = new Float32Array(0);
  /** A view of n floats (contents undefined: the caller overwrites all of them). */
  take(n: number): Float32Array {
    if (this.buf.length < n) this.buf = new Float32Array(Math.max(n, Math.ceil(this.buf.length * 1.25)));
    return this.buf.subarray(0, n);
  }
}

/**
 * The packing buffers, shared by the finders of this thread (one runs at a time): grown to the
 * largest merge once, not once per layer.
 */
const buffers = {
  rows: new Scratch(),
  cols: new Scratch(),
  sketchRows: new Scratch(),
  sketchCols: new Scratch(),
};

function collect(sims: Float32Array, nL: number, nR: number, t: number): Int32Array[] {
  const out: Int32Array[] = [];
  const buf: number[] = [];
  for (let a = 0; a < nL; a++) {
    buf.length = 0;
    const o = a * nR;
    for (let b = 0; b < nR; b++) if (sims[o + b] > t) buf.push(b);
    out.push(Int32Array.from(buf));
  }
  return out;
}

export interface DenseFinderOptions {
  /**
   * Keep, per merge node, the cosines between the node's original (unfused) vectors, so that a
   * threshold sweep computes them once: survivors still equal to an original vector read them
   * from the cache, only fused vectors are compared anew.
   */
  cache: boolean;
  histogram: SimilarityHistogram | null;
  clock: (() => number) | null;
  kernel: SimilarityKernel;
}

/** Exact dense search: kernel products of unit vectors. */
export class DenseFinder implements PairFinder {
  readonly stats: SearchStats = emptyStats();
  /**
   * The items' unit keys (N x D), written as the items are prepared: merges then pack them with
   * plain copies. Reused from the previous finder of the same size (a fresh array of this size
   * costs more in page faults than the rows written into it).
   */
  private unit: Float32Array;
  private readonly cache = new Map<number, Float32Array>();
  private readonly rowsBuf = buffers.rows;
  private readonly colsBuf = buffers.cols;

  readonly kernel: SimilarityKernel;

  constructor(
    private readonly store: ItemStore,
    private readonly opts: DenseFinderOptions,
  ) {
    this.kernel = opts.kernel;
    const size = store.N * store.D;
    this.unit = spareUnit && spareUnit.length === size ? spareUnit : new Float32Array(size);
    spareUnit = null;
    if (opts.clock) this.stats.denseSeconds = 0;
  }

  prepareItem(m: number): void {
    const { key, offset, keyNorm, D } = this.store;
    keyNorm[m] = norm(key, offset[m], D);
    const s = keyNorm[m] > 0 ? 1 / keyNorm[m] : 0;
    const u = this.unit;
    for (let d = 0, i = offset[m], o = m * D; d < D; d++) u[o + d] = key[i + d] * s;
  }

  *find(node: MergeNode, left: Cluster[], right: Cluster[], t: number): Products<Int32Array[]> {
    const sims = yield* this.similarities(node, left, right);
    return collect(sims, left.length, right.length, t);
  }

  /** Cosines of every left cluster with every right cluster (nL x nR, row-major). */
  *similarities(node: MergeNode, left: Cluster[], right: Cluster[]): Products<Float32Array> {
    const D = this.store.D;
    const nL = left.length;
    const nR = right.length;
    if (!this.opts.cache) return yield* this.explicit(left, null, right, null);
    let c = this.cache.get(node.key);
    if (!c) {
      const unit = this.unit;
      const m = node.leftEnd - node.leftStart;
      const n = node.rightEnd - node.rightStart;
      const t0 = now(this.opts.clock);
      const sims = yield {
        a: unit.subarray(node.leftStart * D, node.leftEnd * D),
        m,
        b: unit.subarray(node.rightStart * D, node.rightEnd * D),
        n,
        D,
      };
      this.account(m * n * D * 2, since(this.opts.clock, t0));
      if (this.opts.histogram) addToHistogram(this.opts.histogram, sims);
      c = sims;
      this.cache.set(node.key, c);
    }
    const nRo = node.rightEnd - node.rightStart;
    const out = new Float32Array(nL * nR);
    const ml: number[] = [];
    const pl: number[] = [];
    const mr: number[] = [];
    left.forEach((x, i) => (x.pristine ? pl : ml).push(i));
    right.forEach((x, i) => {
      if (!x.pristine) mr.push(i);
    });
    for (const a of pl) {
      const row = (left[a].head - node.leftStart) * nRo;
      for (let b = 0; b < nR; b++)
        if (right[b].pristine) out[a * nR + b] = c[row + right[b].head - node.rightStart];
    }
    if (ml.length) {
      const s = yield* this.explicit(left, ml, right, null);
      for (let k = 0; k < ml.length; k++) out.set(s.subarray(k * nR, k * nR + nR), ml[k] * nR);
    }
    if (mr.length && pl.length) {
      const s = yield* this.explicit(left, pl, right, mr);
      for (let k = 0; k < pl.length; k++)
        for (let j = 0; j < mr.length; j++) out[pl[k] * nR + mr[j]] = s[k * mr.length + j];
    }
    return out;
  }

  private *explicit(
    left: Cluster[],
    li: number[] | null,
    right: Cluster[],
    ri: number[] | null,
  ): Products<Float32Array> {
    const D = this.store.D;
    const m = li ? li.length : left.length;
    const n = ri ? ri.length : right.length;
    const t0 = now(this.opts.clock);
    const sims = yield {
      a: packDirs(keyRows(left, li, D, this.unit), D, this.rowsBuf),
      m,
      b: packDirs(keyRows(right, ri, D, this.unit), D, this.colsBuf),
      n,
      D,
    };
    this.account(m * n * D * 2, since(this.opts.clock, t0));
    return sims;
  }

  private account(flops: number, seconds: number): void {
    this.stats.denseFlops += flops;
    if (this.stats.denseSeconds !== null) this.stats.denseSeconds += seconds;
  }

  dispose(): void {
    spareUnit = this.unit;
    this.unit = new Float32Array(0);
    this.cache.clear();
  }
}

export interface SketchFinderOptions {
  /** Sketch width (count sketch buckets). */
  dim: number;
  /** Candidates: sketch cosine > threshold - margin. */
  margin: number;
  seed: number;
  /** Also run the exact search over the same survivors and count what the sketch missed. */
  measureRecall: boolean;
  clock: (() => number) | null;
  kernel: SimilarityKernel;
}

/**
 * Sub-quadratic candidate search: a count sketch (each coordinate hashed to one of `dim`
 * buckets with a random sign; linear, O(D) per vector) estimates cosines cheaply; pairs whose
 * estimate exceeds threshold - margin are checked with the exact cosine. Items are sketched as
 * their unit directions are written; a merged cluster's sketch is the same combination of its
 * parts' sketches as its direction is of theirs (the sketch is linear), O(dim) per part.
 */
export class SketchFinder implements PairFinder {
  readonly stats: SearchStats = emptyStats();
  private readonly bucket: Int32Array;
  private readonly sign: Float32Array;
  /** Per item, the sketch of its unit key direction (not normalised). */
  private readonly itemSketch: Float32Array;
  /** Per item, 1 / the norm of its sketch. */
  private readonly itemSketchInv: Float32Array;
  private readonly scratch: Float64Array;
  private readonly rowsBuf = buffers.rows;
  private readonly colsBuf = buffers.cols;
  private readonly sketchRows = buffers.sketchRows;
  private readonly sketchCols = buffers.sketchCols;

  readonly kernel: SimilarityKernel;

  constructor(
    private readonly store: ItemStore,
    private readonly opts: SketchFinderOptions,
  ) {
    this.kernel = opts.kernel;
    const { D, N } = store;
    const rng = new Sfc32(opts.seed);
    this.bucket = new Int32Array(D);
    this.sign = new Float32Array(D);
    for (let d = 0; d < D; d++) {
      this.bucket[d] = rng.uint32() % opts.dim;
      this.sign[d] = rng.uint32() & 1 ? 1 : -1;
    }
    this.itemSketch = new Float32Array(N * opts.dim);
    this.itemSketchInv = new Float32Array(N);
    this.scratch = new Float64Array(opts.dim);
    if (opts.clock) this.stats.sketchSeconds = 0;
    if (opts.measureRecall) {
      this.stats.pairsTrue = 0;
      this.stats.pairsTrueFound = 0;
      if (opts.clock) this.stats.denseSeconds = 0;
    }
  }

  /** The sketch of v[vo, vo + D) times `scale` into out[oo, oo + dim). */
  private sketchInto(v: Float32Array, vo: number, out: Float32Array, oo: number, scale: number): void {
    const k = this.opts.dim;
    // Accumulated in a small float64 scratch (stays in L1), written once.
    const acc = this.scratch;
    acc.fill(0);
    const bucket = this.bucket;
    const sign = this.sign;
    const D = this.store.D;
    for (let d = 0; d < D; d++) acc[bucket[d]] += sign[d] * v[vo + d];
    for (let j = 0; j < k; j++) out[oo + j] = acc[j] * scale;
  }

  /**
   * The item's key norm and the sketch of its unit direction in one pass over the row (the
   * norm summed exactly as vec.norm sums it, four interleaved partial sums, so it is the same
   * number the dense search takes).
   */
  prepareItem(m: number): void {
    const t0 = this.opts.clock ? this.opts.clock() : 0;
    const { key: v, offset, keyNorm, D } = this.store;
    const k = this.opts.dim;
    const acc = this.scratch;
    acc.fill(0);
    const bucket = this.bucket;
    const sign = this.sign;
    const vo = offset[m];
    let s0 = 0;
    let s1 = 0;
    let s2 = 0;
    let s3 = 0;
    let d = 0;
    for (; d + 3 < D; d += 4) {
      const x0 = v[vo + d];
      const x1 = v[vo + d + 1];
      const x2 = v[vo + d + 2];
      const x3 = v[vo + d + 3];
      s0 += x0 * x0;
      s1 += x1 * x1;
      s2 += x2 * x2;
      s3 += x3 * x3;
      acc[bucket[d]] += sign[d] * x0;
      acc[bucket[d + 1]] += sign[d + 1] * x1;
      acc[bucket[d + 2]] += sign[d + 2] * x2;
      acc[bucket[d + 3]] += sign[d + 3] * x3;
    }
    for (; d < D; d++) {
      const x = v[vo + d];
      s0 += x * x;
      acc[bucket[d]] += sign[d] * x;
    }
    const n = Math.sqrt(s0 + s1 + s2 + s3);
    keyNorm[m] = n;
    const scale = n > 0 ? 1 / n : 0;
    const out = this.itemSketch;
    const oo = m * k;
    let ss = 0;
    for (let j = 0; j < k; j++) {
      const x = Math.fround(acc[j] * scale);
      out[oo + j] = x;
      ss += x * x;
    }
    this.itemSketchInv[m] = ss > 0 ? 1 / Math.sqrt(ss) : 0;
    if (this.stats.sketchSeconds !== null) this.stats.sketchSeconds += (this.opts.clock!() - t0) / 1000;
  }

  /** The cluster's sketch, at the scale of its dir (a pristine item's: of its unit direction). */
  private sketchOf(c: Cluster): Float32Array {
    const k = this.opts.dim;
    if (c.pristine) {
      return this.itemSketch.subarray(c.head * k, c.head * k + k);
    }
    if (!c.sketch) {
      c.sketch = new Float32Array(k);
      this.sketchInto(c.dir, 0, c.sketch, 0, 1);
    }
    return c.sketch;
  }

  mergedSketch(parts: Cluster[], ws: number[]): Float32Array {
    const [out, s] = timed(this.opts.clock, () => this.combine(parts, ws));
    if (this.stats.sketchSeconds !== null) this.stats.sketchSeconds += s;
    return out;
  }

  /** The sketch of sum_k ws[k] x parts[k]'s unit direction (the sketch is linear). */
  private combine(parts: Cluster[], ws: number[]): Float32Array {
    const k = this.opts.dim;
    // The parts' sketches first: making one may use the scratch.
    const sketches = parts.map((c) => this.sketchOf(c));
    const acc = this.scratch;
    acc.fill(0);
    for (let p = 0; p < parts.length; p++) {
      const s = sketches[p];
      const w = ws[p] * (parts[p].pristine ? 1 : parts[p].dscale);
      for (let j = 0; j < k; j++) acc[j] += w * s[j];
    }
    const out = new Float32Array(k);
    for (let j = 0; j < k; j++) out[j] = acc[j];
    return out;
  }

  /** The clusters' sketches, each scaled to unit length, as rows of one matrix. */
  private packUnitSketches(cs: Cluster[], into: Scratch): Float32Array {
    const k = this.opts.dim;
    const out = into.take(cs.length * k);
    for (let i = 0; i < cs.length; i++) {
      const c = cs[i];
      const s = this.sketchOf(c);
      const o = i * k;
      let inv: number;
      if (c.pristine) inv = this.itemSketchInv[c.head];
      else {
        let ss = 0;
        for (let j = 0; j < k; j++) ss += s[j] * s[j];
        inv = ss > 0 ? 1 / Math.sqrt(ss) : 0;
      }
      for (let j = 0; j < k; j++) out[o + j] = s[j] * inv;
    }
    return out;
  }

  *find(_node: MergeNode, left: Cluster[], right: Cluster[], t: number): Products<Int32Array[]> {
    const k = this.opts.dim;
    const D = this.store.D;
    const nL = left.length;
    const nR = right.length;
    const clock = this.opts.clock;
    const t0 = now(clock);
    const est = yield {
      a: this.packUnitSketches(left, this.sketchRows),
      m: nL,
      b: this.packUnitSketches(right, this.sketchCols),
      n: nR,
      D: k,
    };
    this.stats.sketchFlops += nL * nR * k * 2;
    const cut = t - this.opts.margin;
    const out = yield* this.check(left, right, est, cut, t);
    if (this.stats.sketchSeconds !== null) this.stats.sketchSeconds += since(clock, t0);
    if (this.opts.measureRecall) {
      const t3 = now(clock);
      const sims = yield {
        a: packDirs(keyRows(left, null, D, null), D),
        m: nL,
        b: packDirs(keyRows(right, null, D, null), D),
        n: nR,
        D,
      };
      this.stats.denseFlops += nL * nR * D * 2;
      if (this.stats.denseSeconds !== null) this.stats.denseSeconds += since(clock, t3);
      const truth = collect(sims, nL, nR, t);
      for (let a = 0; a < nL; a++) {
        this.stats.pairsTrue! += truth[a].length;
        const found = new Set(out[a]);
        for (const b of truth[a]) if (found.has(b)) this.stats.pairsTrueFound!++;
      }
    }
    return out;
  }

  /**
   * The exact check of the candidates (sketch estimate above `cut`): one kernel product of the
   * left rows that have a candidate with the right rows that have one, the same float32 unit rows
   * the dense search multiplies. Where the candidates are too scattered for that product to pay
   * (it would hold more than the kernel's checkSpread entries per candidate), pair by pair in JS.
   */
  private *check(
    left: Cluster[],
    right: Cluster[],
    est: Float32Array,
    cut: number,
    t: number,
  ): Products<Int32Array[]> {
    const D = this.store.D;
    const nL = left.length;
    const nR = right.length;
    const rowOf = new Int32Array(nL).fill(-1);
    const colOf = new Int32Array(nR).fill(-1);
    const li: number[] = [];
    const ri: number[] = [];
    let candidates = 0;
    for (let a = 0; a < nL; a++)
      for (let b = 0; b < nR; b++) {
        if (est[a * nR + b] <= cut) continue;
        candidates++;
        if (rowOf[a] < 0) rowOf[a] = li.push(a) - 1;
        if (colOf[b] < 0) colOf[b] = ri.push(b) - 1;
      }
    this.stats.candidates += candidates;
    const batched = candidates > 0 && li.length * ri.length <= this.opts.kernel.checkSpread * candidates;
    const sims = batched
      ? yield {
          a: packDirs(keyRows(left, li, D, null), D, this.rowsBuf),
          m: li.length,
          b: packDirs(keyRows(right, ri, D, null), D, this.colsBuf),
          n: ri.length,
          D,
        }
      : null;
    if (sims) this.stats.sketchFlops += li.length * ri.length * D * 2;
    const out: Int32Array[] = [];
    const buf: number[] = [];
    for (let a = 0; a < nL; a++) {
      buf.length = 0;
      if (rowOf[a] >= 0) {
        const ca = left[a].dir;
        const sa = left[a].dscale;
        for (let b = 0; b < nR; b++) {
          if (est[a * nR + b] <= cut) continue;
          const rb = right[b];
          const cos = sims
            ? sims[rowOf[a] * ri.length + colOf[b]]
            : dot(ca, 0, rb.dir, 0, D) * sa * rb.dscale;
          if (cos > t) buf.push(b);
        }
      }
      this.stats.pairsFound += buf.length;
      out.push(Int32Array.from(buf));
    }
    return out;
  }

  dispose(): void {}
}
