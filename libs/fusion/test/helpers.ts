import type { KvLayer, KvSampleInfo } from '../src';

/**
 * A one-layer sample from explicit block vectors: blockSize 1, one KV head, head dim = the
 * vectors' length, so each block is exactly the given vector.
 */
export function tinySample(
  seqs: number[][][],
  values?: number[][][],
  extra: Partial<KvSampleInfo> = {},
): { info: KvSampleInfo; layer: KvLayer } {
  const D = seqs.flat()[0].length;
  const maxBlocks = Math.max(...seqs.map((s) => s.length));
  const key = new Float32Array(seqs.length * maxBlocks * D);
  const value = new Float32Array(seqs.length * maxBlocks * D);
  seqs.forEach((blocks, i) =>
    blocks.forEach((v, j) => {
      key.set(v, (i * maxBlocks + j) * D);
      value.set(values ? values[i][j] : v, (i * maxBlocks + j) * D);
    }),
  );
  const info: KvSampleInfo = {
    file: null,
    numSeqs: seqs.length,
    numLayers: 1,
    maxBlocks,
    blockSize: 1,
    numKvHeads: 1,
    headDim: D,
    numQueries: 0,
    numHeads: null,
    dtype: 'F32',
    seqLens: seqs.map((s) => s.length),
    tenants: null,
    model: null,
    rope: { state: 'removed', theta: null, scaling: null },
    positions: null,
    queryPositions: null,
    synthetic: true,
    ...extra,
  };
  return { info, layer: { layer: 0, key, value, query: null } };
}

/** Block j of sequence i of a layer buffer. */
export function blockOf(buf: Float32Array, info: KvSampleInfo, i: number, j: number): number[] {
  const D = info.blockSize * info.numKvHeads * info.headDim;
  const o = (i * info.maxBlocks + j) * D;
  return Array.from(buf.subarray(o, o + D));
}

export function unit(v: number[]): number[] {
  const n = Math.hypot(...v);
  return v.map((x) => x / n);
}
