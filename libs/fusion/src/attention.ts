import * as tf from '@tensorflow/tfjs';
import type { KvLayer, KvSampleInfo } from './kv-types';

export type QuerySource = 'file' | 'keys-proxy';

export interface AttentionOptions {
  /** Top-k attended positions compared (clipped to the sequence length). */
  topK: number;
  /** Without file queries: the keys of each sequence's last `proxyQueries` tokens serve as queries. */
  proxyQueries: number;
}

export interface AttentionError {
  querySource: QuerySource;
  /** sqrt(sum ||O' - O||^2 / sum ||O||^2) over every query, head and sequence. */
  relError: number;
  /** Worst per-sequence relative error. */
  maxSeqRelError: number;
  /** Per-sequence relative errors (for intervals). */
  perSeq: number[];
  /** Mean over query rows of |topk(original) ∩ topk(fused)| / k. */
  topKOverlap: number;
}

interface SeqRef {
  out: Float32Array;
  top: Int32Array;
  ref2: number;
  rows: number;
  k: number;
}

/**
 * softmax(q K^T / sqrt(d)) V of one layer, per sequence, against the original KV (computed once)
 * and then against fused KV. Query heads map to KV heads as in grouped-query attention
 * (query head h uses KV head floor(h / (numHeads / numKvHeads))).
 */
export class AttentionProbe {
  readonly querySource: QuerySource;
  private readonly refs: Array<SeqRef | null> = [];

  constructor(
    private readonly layer: KvLayer,
    private readonly info: KvSampleInfo,
    private readonly opts: AttentionOptions,
  ) {
    this.querySource = layer.query && info.numQueries > 0 ? 'file' : 'keys-proxy';
    for (let i = 0; i < info.numSeqs; i++) {
      const q = this.queriesOf(i);
      if (!q) {
        this.refs.push(null);
        continue;
      }
      const r = this.attend(i, q, layer.key, layer.value);
      this.refs.push(r);
    }
  }

  /** [H, rows, hd] queries of sequence i (rows = queries x group), or null when it has no tokens. */
  private queriesOf(i: number): { data: Float32Array; rows: number } | null {
    const { numKvHeads: H, headDim: hd, maxBlocks, blockSize } = this.info;
    const T = this.info.seqLens[i];
    if (T === 0) return null;
    if (this.querySource === 'file') {
      const nq = this.info.numQueries;
      const Hq = this.info.numHeads!;
      const g = Hq / H;
      const q = this.layer.query!;
      const data = new Float32Array(H * nq * g * hd);
      for (let r = 0; r < nq; r++)
        for (let hq = 0; hq < Hq; hq++) {
          const h = Math.floor(hq / g);
          const row = r * g + (hq % g);
          data.set(
            q.subarray(((i * nq + r) * Hq + hq) * hd, ((i * nq + r) * Hq + hq + 1) * hd),
            (h * nq * g + row) * hd,
          );
        }
      return { data, rows: nq * g };
    }
    const nq = Math.min(this.opts.proxyQueries, T);
    const data = new Float32Array(H * nq * hd);
    const base = i * maxBlocks * blockSize * H * hd;
    for (let r = 0; r < nq; r++) {
      const tok = T - nq + r;
      for (let h = 0; h < H; h++)
        data.set(
          this.layer.key.subarray(base + (tok * H + h) * hd, base + (tok * H + h + 1) * hd),
          (h * nq + r) * hd,
        );
    }
    return { data, rows: nq };
  }

  private attend(
    i: number,
    q: { data: Float32Array; rows: number },
    key: Float32Array,
    value: Float32Array,
  ): SeqRef {
    const { numKvHeads: H, headDim: hd, maxBlocks, blockSize } = this.info;
    const T = this.info.seqLens[i];
    const k = Math.min(this.opts.topK, T);
    const base = i * maxBlocks * blockSize * H * hd;
    const [outT, topT] = tf.tidy(() => {
      const Q = tf.tensor3d(q.data, [H, q.rows, hd]);
      const K = tf.transpose(tf.tensor3d(key.subarray(base, base + T * H * hd), [T, H, hd]), [1, 2, 0]);
      const V = tf.transpose(tf.tensor3d(value.subarray(base, base + T * H * hd), [T, H, hd]), [1, 0, 2]);
      const scores = tf.mul(tf.matMul(Q, K), 1 / Math.sqrt(hd));
      const out = tf.matMul(tf.softmax(scores), V);
      const top = tf.topk(scores, k).indices;
      return [out, top];
    });
    try {
      const out = outT.dataSync() as Float32Array;
      const top = topT.dataSync() as Int32Array;
      let ref2 = 0;
      for (let j = 0; j < out.length; j++) ref2 += out[j] * out[j];
      return { out, top, ref2, rows: q.rows, k };
    } finally {
      outT.dispose();
      topT.dispose();
    }
  }

  /** Errors of the fused KV; only sequences in `changed` are recomputed (the others are exact). */
  evaluate(key: Float32Array, value: Float32Array, changed: Set<number>): AttentionError {
    let err2 = 0;
    let ref2 = 0;
    let overlap = 0;
    let rows = 0;
    let maxSeq = 0;
    const perSeq: number[] = [];
    for (let i = 0; i < this.info.numSeqs; i++) {
      const r = this.refs[i];
      if (!r) continue;
      ref2 += r.ref2;
      const nRows = this.info.numKvHeads * r.rows;
      rows += nRows;
      if (!changed.has(i)) {
        overlap += nRows;
        perSeq.push(0);
        continue;
      }
      const q = this.queriesOf(i)!;
      const f = this.attend(i, q, key, value);
      let e2 = 0;
      for (let j = 0; j < f.out.length; j++) {
        const d = f.out[j] - r.out[j];
        e2 += d * d;
      }
      err2 += e2;
      const rel = r.ref2 > 0 ? Math.sqrt(e2 / r.ref2) : 0;
      perSeq.push(rel);
      maxSeq = Math.max(maxSeq, rel);
      for (let row = 0; row < nRows; row++) {
        const a = new Set(r.top.subarray(row * r.k, row * r.k + r.k));
        let hit = 0;
        for (let j = 0; j < r.k; j++) if (a.has(f.top[row * r.k + j])) hit++;
        overlap += r.k > 0 ? hit / r.k : 1;
      }
    }
    return {
      querySource: this.querySource,
      relError: ref2 > 0 ? Math.sqrt(err2 / ref2) : 0,
      maxSeqRelError: maxSeq,
      perSeq,
      topKOverlap: rows > 0 ? overlap / rows : 1,
    };
  }
}
