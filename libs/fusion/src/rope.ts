import { InputError } from '@kvplan/core';
import type { KvSampleInfo } from './kv-types';

/**
 * Inverse frequencies of rotary position embedding (Hugging Face conventions): theta^(-2k/d),
 * with `rope_scaling` of type `default`, `linear` (positions divided by factor) or `llama3`
 * (long wavelengths divided by factor, short ones kept, a smooth band between).
 */
export function ropeInverseFrequencies(
  headDim: number,
  theta: number,
  scaling: Record<string, unknown> | null,
): Float64Array {
  const half = headDim / 2;
  const inv = new Float64Array(half);
  for (let k = 0; k < half; k++) inv[k] = 1 / Math.pow(theta, (2 * k) / headDim);
  if (!scaling) return inv;
  const type = String(scaling.rope_type ?? scaling.type ?? 'default');
  const num = (key: string, dflt?: number): number => {
    const v = scaling[key] ?? dflt;
    if (typeof v !== 'number' || !(v > 0))
      throw new InputError([
        { path: `rope_scaling.${key}`, message: `expected a positive number, got ${JSON.stringify(v)}` },
      ]);
    return v;
  };
  if (type === 'default') return inv;
  if (type === 'linear') {
    const f = num('factor');
    for (let k = 0; k < half; k++) inv[k] /= f;
    return inv;
  }
  if (type === 'llama3') {
    const factor = num('factor');
    const low = num('low_freq_factor', 1);
    const high = num('high_freq_factor', 4);
    const orig = num('original_max_position_embeddings', 8192);
    const lowWavelen = orig / low;
    const highWavelen = orig / high;
    for (let k = 0; k < half; k++) {
      const wavelen = (2 * Math.PI) / inv[k];
      if (wavelen > lowWavelen) inv[k] /= factor;
      else if (wavelen >= highWavelen) {
        const smooth = (orig / wavelen - low) / (high - low);
        inv[k] = (1 - smooth) * (inv[k] / factor) + smooth * inv[k];
      }
    }
    return inv;
  }
  throw new InputError([
    {
      path: 'rope_scaling.rope_type',
      message: `unsupported rope scaling "${type}" (kvplan knows default, linear, llama3)`,
    },
  ]);
}

/**
 * Rotates the keys of one layer ([numSeqs, maxBlocks, blockSize, numKvHeads, headDim], in place)
 * by +angle (direction 1: apply RoPE) or -angle (direction -1: remove it), with the
 * rotate-half pairing (k, k + headDim/2) of Llama-family models. A token's position is its
 * sequence's first position (`info.positions`, else 0) plus its index in the sequence.
 */
export function applyRope(
  key: Float32Array,
  info: Pick<KvSampleInfo, 'numSeqs' | 'maxBlocks' | 'blockSize' | 'numKvHeads' | 'headDim' | 'positions'>,
  inv: Float64Array,
  direction: 1 | -1,
  seqs?: Iterable<number>,
): void {
  const { maxBlocks, blockSize: bs, numKvHeads: H, headDim: hd } = info;
  const half = hd / 2;
  const cos = new Float32Array(half);
  const sin = new Float32Array(half);
  const list = seqs ?? Array.from({ length: info.numSeqs }, (_, i) => i);
  for (const i of list) {
    const p0 = info.positions?.[i] ?? 0;
    for (let t = 0; t < maxBlocks * bs; t++) {
      const p = p0 + t;
      for (let k = 0; k < half; k++) {
        const a = p * inv[k];
        cos[k] = Math.cos(a);
        sin[k] = direction * Math.sin(a);
      }
      const base = (i * maxBlocks * bs + t) * H * hd;
      for (let h = 0; h < H; h++) {
        const o = base + h * hd;
        for (let k = 0; k < half; k++) {
          const x = key[o + k];
          const y = key[o + k + half];
          key[o + k] = x * cos[k] - y * sin[k];
          key[o + k + half] = y * cos[k] + x * sin[k];
        }
      }
    }
  }
}
