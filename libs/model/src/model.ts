import * as tf from '@tensorflow/tfjs';
import { InputError } from '@kvplan/core';
import { ropeInverseFrequencies } from '@kvplan/fusion';
import type { LlamaConfig } from './config';
import { KvCache } from './kv-cache';

/** One decoder layer's weights on the backend, linear weights stored as [in, out]. */
export interface LayerWeights {
  inputNorm: tf.Tensor1D;
  // Separate projections: slicing a fused output's columns costs more on wasm than the extra matmuls.
  q: tf.Tensor2D;
  k: tf.Tensor2D;
  v: tf.Tensor2D;
  qBias: tf.Tensor1D | null;
  kBias: tf.Tensor1D | null;
  vBias: tf.Tensor1D | null;
  out: tf.Tensor2D;
  outBias: tf.Tensor1D | null;
  postNorm: tf.Tensor1D;
  gate: tf.Tensor2D;
  up: tf.Tensor2D;
  down: tf.Tensor2D;
}

export interface ModelWeights {
  /** [vocab, hidden], kept in host memory (rows are gathered in JS). */
  embed: Float32Array;
  layers: LayerWeights[];
  finalNorm: tf.Tensor1D;
  /** [hidden, vocab] (the embedding transposed when tied). */
  lmHead: tf.Tensor2D;
}

export interface ForwardInput {
  /** Token ids, [batch, tokens] row-major. */
  tokens: Int32Array;
  batch: number;
  /**
   * Without a cache: leading padding slots of each row (left padding, for prompts of different
   * lengths in one batch). With a cache, new tokens carry no padding.
   */
  validFrom?: Int32Array;
}

export interface ForwardOptions {
  /** Which positions' logits to return: every new token's, the last one's per row, or none. */
  logits: 'all' | 'last' | 'none';
  /** Also return the last `queries` positions' attention queries (after RoPE) of every layer. */
  queries?: number;
}

export interface ForwardResult {
  /** [batch, rows, vocab] with rows = new tokens ('all') or 1 ('last'); null for 'none'. */
  logits: Float32Array | null;
  rows: number;
  /** The cache extended with the new tokens (the input cache is left as it was). */
  cache: KvCache;
  /** Per layer, [batch, queries, heads, headDim], or null. */
  queries: Float32Array[] | null;
}

const MASKED = -1e9;

/**
 * A Llama-family decoder (Llama 2/3, Mistral, Qwen2) on tfjs: RMSNorm, rotary embedding (with
 * linear or Llama-3 scaling), grouped-query attention over a KV cache, SwiGLU MLP, tied or untied
 * embeddings. All arithmetic is float32. The model never chooses a tfjs backend; it owns its
 * weight tensors until `dispose`.
 */
export class LlamaModel {
  readonly config: LlamaConfig;
  readonly name: string;
  private readonly w: ModelWeights;
  private readonly invFreq: Float64Array;
  private disposed = false;

  /**
   * How attention is computed: `batched` (batched matmuls over [batch x kvHeads], best on GPU
   * backends), `sliced` (one 2-D matmul pair per sequence and KV head, operands moved through host
   * memory: several times faster on wasm, whose batched matmul is slow), or `auto` (sliced on wasm
   * and cpu for chunks of 8 tokens or more, batched otherwise). Both give the same numbers to
   * float32 rounding, and the same input always takes the same path.
   */
  attention: 'auto' | 'batched' | 'sliced' = 'auto';

  constructor(config: LlamaConfig, weights: ModelWeights, name: string) {
    this.config = config;
    this.w = weights;
    this.name = name;
    this.invFreq = ropeInverseFrequencies(config.headDim, config.ropeTheta, config.ropeScaling);
  }

  private attentionMode(newTokens: number): 'batched' | 'sliced' {
    if (this.attention !== 'auto') return this.attention;
    const b = tf.getBackend();
    // For a few new tokens (decode) the batched matmuls are small and the host round trip of the
    // sliced path costs more than it saves.
    return (b === 'wasm' || b === 'cpu') && newTokens >= 8 ? 'sliced' : 'batched';
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    for (const l of this.w.layers) for (const t of layerTensors(l)) t.dispose();
    this.w.finalNorm.dispose();
    this.w.lmHead.dispose();
  }

  /**
   * Runs new tokens through the decoder, attending to `cache` (when given) and to each other
   * causally. Returns logits as plain arrays and a new cache; no tensor outlives the call other
   * than the returned cache's.
   */
  forward(input: ForwardInput, cache: KvCache | null, opts: ForwardOptions): ForwardResult {
    if (this.disposed) throw new Error('LlamaModel: disposed');
    const c = this.config;
    const B = input.batch;
    const T = B > 0 ? input.tokens.length / B : 0;
    if (!Number.isInteger(T) || T < 1)
      throw new Error(`forward: ${input.tokens.length} tokens for batch ${B}`);
    if (cache && cache.batch !== B)
      throw new Error(`forward: cache batch ${cache.batch} != input batch ${B}`);
    if (cache && input.validFrom) throw new Error('forward: padding is only for the first chunk');
    const S0 = cache ? cache.length : 0;
    const S = S0 + T;
    const validFrom = cache ? cache.validFrom : (input.validFrom ?? new Int32Array(B));
    const D = c.hiddenSize;
    const H = c.numHeads;
    const Hkv = c.numKvHeads;
    const hd = c.headDim;
    const g = H / Hkv;
    const nq = Math.min(opts.queries ?? 0, T);

    // Host-side inputs: embedding rows, rotary tables, the attention mask.
    const V = c.vocabSize;
    const emb = new Float32Array(B * T * D);
    for (let i = 0; i < B * T; i++) {
      const id = input.tokens[i];
      if (!(id >= 0 && id < V)) {
        throw new InputError([
          { path: 'tokens', message: `token id ${id} is outside the vocabulary (vocab_size ${V})` },
        ]);
      }
      emb.set(this.w.embed.subarray(id * D, (id + 1) * D), i * D);
    }
    const half = hd / 2;
    const cosT = new Float32Array(B * T * hd);
    const sinT = new Float32Array(B * T * hd);
    for (let b = 0; b < B; b++)
      for (let t = 0; t < T; t++) {
        const pos = Math.max(0, S0 + t - validFrom[b]);
        const o = (b * T + t) * hd;
        for (let k = 0; k < half; k++) {
          const a = pos * this.invFreq[k];
          const cs = Math.cos(a);
          const sn = Math.sin(a);
          cosT[o + k] = cs;
          cosT[o + half + k] = cs;
          sinT[o + k] = sn;
          sinT[o + half + k] = sn;
        }
      }
    const mask = new Float32Array(B * T * S);
    for (let b = 0; b < B; b++)
      for (let t = 0; t < T; t++) {
        const row = (b * T + t) * S;
        for (let s = 0; s < S; s++) if (s < validFrom[b] || s > S0 + t) mask[row + s] = MASKED;
      }

    const keep: tf.Tensor[] = [];
    const newKeys: tf.Tensor4D[] = [];
    const newValues: tf.Tensor4D[] = [];
    const queryT: tf.Tensor[] = [];
    let logitsT: tf.Tensor | null = null;
    let x: tf.Tensor2D | null = null;
    try {
      const cos = tf.tensor4d(cosT, [B, T, 1, hd]);
      const sin = tf.tensor4d(sinT, [B, T, 1, hd]);
      const sliced = this.attentionMode(T) === 'sliced';
      const maskT = sliced ? null : tf.tensor4d(mask, [B, 1, T, S]);
      keep.push(cos, sin);
      if (maskT) keep.push(maskT);
      x = tf.tensor2d(emb, [B * T, D]);
      const scale = 1 / Math.sqrt(hd);
      for (let l = 0; l < c.numLayers; l++) {
        const w = this.w.layers[l];
        const prev: tf.Tensor2D = x!;
        const r = tf.tidy(() => {
          const h = rmsNorm(prev, w.inputNorm, c.rmsNormEps);
          const proj = (wt: tf.Tensor2D, b: tf.Tensor1D | null): tf.Tensor =>
            b ? tf.add(tf.matMul(h, wt), b) : tf.matMul(h, wt);
          const q = proj(w.q, w.qBias);
          const k = proj(w.k, w.kBias);
          const v = proj(w.v, w.vBias);
          const q4 = rope(tf.reshape(q, [B, T, H, hd]), cos, sin);
          const k4 = rope(tf.reshape(k, [B, T, Hkv, hd]), cos, sin);
          const kT = tf.transpose(k4, [0, 2, 3, 1]) as tf.Tensor4D;
          const vT = tf.transpose(tf.reshape(v, [B, T, Hkv, hd]), [0, 2, 1, 3]) as tf.Tensor4D;
          const kAll = cache ? tf.concat([cache.keysT[l], kT], 3) : kT;
          const vAll = cache ? tf.concat([cache.values[l], vT], 2) : vT;
          const qh = tf.transpose(q4, [0, 2, 1, 3]);
          let o: tf.Tensor;
          if (sliced) o = attendSliced(qh, kAll, vAll, mask, { B, Hkv, g, T, S, hd, scale });
          else {
            const scores = tf.matMul(
              tf.reshape(qh, [B * Hkv, g * T, hd]),
              tf.reshape(kAll, [B * Hkv, hd, S]),
            );
            const masked = tf.add(tf.mul(tf.reshape(scores, [B, H, T, S]), scale), maskT!);
            const probs = tf.softmax(masked);
            o = tf.matMul(tf.reshape(probs, [B * Hkv, g * T, S]), tf.reshape(vAll, [B * Hkv, S, hd]));
          }
          const o2 = tf.reshape(tf.transpose(tf.reshape(o, [B, H, T, hd]), [0, 2, 1, 3]), [B * T, H * hd]);
          let attn = tf.matMul(o2, w.out);
          if (w.outBias) attn = tf.add(attn, w.outBias);
          const x1 = tf.add(prev, attn);
          const h2 = rmsNorm(x1, w.postNorm, c.rmsNormEps);
          const gate = tf.matMul(h2, w.gate);
          const up = tf.matMul(h2, w.up);
          const mlp = tf.matMul(tf.mul(tf.mul(gate, tf.sigmoid(gate)), up), w.down);
          const x2 = tf.add(x1, mlp) as tf.Tensor2D;
          const out: tf.Tensor[] = [x2, kAll, vAll];
          if (nq > 0) out.push(tf.slice(q4, [0, T - nq, 0, 0], [B, nq, H, hd]));
          return out;
        });
        prev.dispose();
        x = r[0] as tf.Tensor2D;
        newKeys.push(r[1] as tf.Tensor4D);
        newValues.push(r[2] as tf.Tensor4D);
        if (r[3]) queryT.push(r[3]);
      }
      const last: tf.Tensor2D = x!;
      if (opts.logits !== 'none') {
        logitsT = tf.tidy(() => {
          const rows =
            opts.logits === 'last'
              ? tf.reshape(tf.slice(tf.reshape(last, [B, T, D]), [0, T - 1, 0], [B, 1, D]), [B, D])
              : last;
          return tf.matMul(rmsNorm(rows, this.w.finalNorm, c.rmsNormEps), this.w.lmHead);
        });
      }
      const logits = logitsT ? (logitsT.dataSync() as Float32Array).slice() : null;
      const queries = queryT.length ? queryT.map((q) => (q.dataSync() as Float32Array).slice()) : null;
      return {
        logits,
        rows: opts.logits === 'all' ? T : opts.logits === 'last' ? 1 : 0,
        cache: new KvCache(newKeys, newValues, Int32Array.from(validFrom), S),
        queries,
      };
    } catch (err) {
      for (const t of [...newKeys, ...newValues]) t.dispose();
      throw err;
    } finally {
      x?.dispose();
      for (const t of keep) t.dispose();
      for (const t of queryT) t.dispose();
      logitsT?.dispose();
    }
  }

  /**
   * Prefills prompts of different lengths as one left-padded batch. Returns the cache, the last
   * token's logits of each prompt ([batch, vocab]) and, when asked, the last `queries` tokens'
   * attention queries per layer ([batch, queries, heads, headDim]; a prompt shorter than that
   * repeats padding rows, so ask for at most the shortest prompt's length).
   */
  prefill(prompts: ArrayLike<number>[], opts: { queries?: number } = {}): ForwardResult {
    const B = prompts.length;
    const T = Math.max(...Array.from(prompts, (p) => p.length));
    const tokens = new Int32Array(B * T);
    const validFrom = new Int32Array(B);
    prompts.forEach((p, b) => {
      validFrom[b] = T - p.length;
      for (let i = 0; i < p.length; i++) tokens[b * T + validFrom[b] + i] = p[i];
    });
    return this.forward({ tokens, batch: B, validFrom }, null, { logits: 'last', queries: opts.queries });
  }
}

function layerTensors(l: LayerWeights): tf.Tensor[] {
  const all: Array<tf.Tensor | null> = [
    l.inputNorm,
    l.q,
    l.k,
    l.v,
    l.qBias,
    l.kBias,
    l.vBias,
    l.out,
    l.outBias,
    l.postNorm,
    l.gate,
    l.up,
    l.down,
  ];
  return all.filter((t): t is tf.Tensor => t !== null);
}

/**
 * Attention as one pair of 2-D matmuls per (sequence, KV head): queries [B, H, T, hd] (heads of
 * a group adjacent), keys transposed [B, Hkv, hd, S], values [B, Hkv, S, hd], mask [B, T, S]
 * (0 or MASKED). The operands are cut in host memory (slicing on the wasm backend is slow) and
 * the outputs gathered there; returns [B, H, T, hd] on the backend.
 */
function attendSliced(
  qh: tf.Tensor,
  kT: tf.Tensor,
  v: tf.Tensor,
  mask: Float32Array,
  d: { B: number; Hkv: number; g: number; T: number; S: number; hd: number; scale: number },
): tf.Tensor {
  const { B, Hkv, g, T, S, hd, scale } = d;
  const qd = qh.dataSync() as Float32Array;
  const kd = kT.dataSync() as Float32Array;
  const vd = v.dataSync() as Float32Array;
  const out = new Float32Array(B * Hkv * g * T * hd);
  const qn = g * T * hd;
  const kn = hd * S;
  for (let b = 0; b < B; b++) {
    const m = tf.tensor2d(mask.subarray(b * T * S, (b + 1) * T * S), [T, S]);
    try {
      for (let h = 0; h < Hkv; h++) {
        const i = b * Hkv + h;
        const o = tf.tidy(() => {
          const Q = tf.tensor2d(qd.subarray(i * qn, (i + 1) * qn), [g * T, hd]);
          const K = tf.tensor2d(kd.subarray(i * kn, (i + 1) * kn), [hd, S]);
          const V = tf.tensor2d(vd.subarray(i * kn, (i + 1) * kn), [S, hd]);
          const scores = tf.add(tf.mul(tf.reshape(tf.matMul(Q, K), [g, T, S]), scale), m);
          return tf.matMul(tf.reshape(tf.softmax(scores), [g * T, S]), V);
        });
        try {
          out.set(o.dataSync() as Float32Array, i * qn);
        } finally {
          o.dispose();
        }
      }
    } finally {
      m.dispose();
    }
  }
  return tf.tensor4d(out, [B, Hkv * g, T, hd]);
}

function rmsNorm(x: tf.Tensor, weight: tf.Tensor1D, eps: number): tf.Tensor2D {
  const variance = tf.mean(tf.square(x), -1, true);
  return tf.mul(tf.mul(x, tf.rsqrt(tf.add(variance, eps))), weight) as tf.Tensor2D;
}

/** x * cos + rotate_half(x) * sin, rotate_half(x) = [-x2, x1] (Hugging Face's pairing). */
function rope(x: tf.Tensor, cos: tf.Tensor, sin: tf.Tensor): tf.Tensor4D {
  const [x1, x2] = tf.split(x, 2, 3);
  const rotated = tf.concat([tf.neg(x2), x1], 3);
  return tf.add(tf.mul(x, cos), tf.mul(rotated, sin)) as tf.Tensor4D;
}
