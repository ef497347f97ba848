import * as tf from '@tensorflow/tfjs';

/**
 * The decoder's KV cache for a batch of rows, left-padded: every row ends at the same slot, row
 * b's tokens occupy slots validFrom[b]..length-1 (slots before are padding, masked out). Per
 * layer, keys are stored transposed, [B, numKvHeads, headDim, length] (the layout the score
 * matmul takes without a transpose on the backend), values as [B, numKvHeads, length, headDim].
 * Keys carry rotary position embedding, as in a serving engine's cache. A cache is immutable:
 * a forward pass returns a new one and leaves its input usable; `dispose` frees its tensors.
 */
export class KvCache {
  constructor(
    readonly keysT: tf.Tensor4D[],
    readonly values: tf.Tensor4D[],
    readonly validFrom: Int32Array,
    readonly length: number,
  ) {}

  get batch(): number {
    return this.validFrom.length;
  }

  /** Tokens held for row b. */
  tokens(b: number): number {
    return this.length - this.validFrom[b];
  }

  dispose(): void {
    for (const t of this.keysT) t.dispose();
    for (const t of this.values) t.dispose();
  }

  /**
   * One layer in the kvplan-kv/1 layout, [B, maxBlocks, blockSize, numKvHeads, headDim] with
   * each row's tokens from slot 0 (its first token) and zeros past its length.
   */
  layerBlocks(
    layer: number,
    blockSize: number,
  ): { key: Float32Array; value: Float32Array; maxBlocks: number } {
    const kT = this.keysT[layer];
    const [B, H, hd, S] = kT.shape;
    const maxTokens = Math.max(0, ...Array.from({ length: B }, (_, b) => this.tokens(b)));
    const maxBlocks = Math.ceil(maxTokens / blockSize);
    const stride = maxBlocks * blockSize * H * hd;
    const key = new Float32Array(B * stride);
    const value = new Float32Array(B * stride);
    const kd = kT.dataSync() as Float32Array;
    const vd = this.values[layer].dataSync() as Float32Array;
    for (let b = 0; b < B; b++) {
      const v0 = this.validFrom[b];
      const n = S - v0;
      for (let h = 0; h < H; h++)
        for (let t = 0; t < n; t++) {
          const o = b * stride + (t * H + h) * hd;
          const vs = ((b * H + h) * S + v0 + t) * hd;
          for (let d = 0; d < hd; d++) {
            key[o + d] = kd[((b * H + h) * hd + d) * S + v0 + t];
            value[o + d] = vd[vs + d];
          }
        }
    }
    return { key, value, maxBlocks };
  }

  /**
   * A cache from per-layer keys and values in the kvplan-kv/1 layout ([B, maxBlocks, blockSize,
   * numKvHeads, headDim], each row from its first token), the rows holding `seqLens` tokens.
   */
  static fromBlocks(
    layers: Array<{ key: Float32Array; value: Float32Array }>,
    shape: { maxBlocks: number; blockSize: number; numKvHeads: number; headDim: number },
    seqLens: number[],
  ): KvCache {
    const B = seqLens.length;
    const { maxBlocks, blockSize, numKvHeads: H, headDim: hd } = shape;
    const S = Math.max(0, ...seqLens);
    const validFrom = Int32Array.from(seqLens, (n) => S - n);
    const stride = maxBlocks * blockSize * H * hd;
    const keysT: tf.Tensor4D[] = [];
    const values: tf.Tensor4D[] = [];
    try {
      for (const { key, value } of layers) {
        const kd = new Float32Array(B * H * hd * S);
        const vd = new Float32Array(B * H * S * hd);
        for (let b = 0; b < B; b++) {
          const v0 = validFrom[b];
          for (let h = 0; h < H; h++)
            for (let t = 0; t < seqLens[b]; t++) {
              const o = b * stride + (t * H + h) * hd;
              const vs = ((b * H + h) * S + v0 + t) * hd;
              for (let d = 0; d < hd; d++) {
                kd[((b * H + h) * hd + d) * S + v0 + t] = key[o + d];
                vd[vs + d] = value[o + d];
              }
            }
        }
        keysT.push(tf.tensor4d(kd, [B, H, hd, S]));
        values.push(tf.tensor4d(vd, [B, H, S, hd]));
      }
    } catch (err) {
      for (const t of [...keysT, ...values]) t.dispose();
      throw err;
    }
    return new KvCache(keysT, values, validFrom, S);
  }
}
