import type { KvLayer, KvSampleInfo, KvSource } from './kv-types';

/**
 * A view of some sequences of a KV source, in the order of `indices` (a sampled subset, or the
 * first B of a sample for a batch-size measurement). `seqLens` and `tenants` may be replaced
 * (synthetic KV shaped like sampled requests; prompts cut to a token budget); a replaced
 * length never exceeds the tensors' maxBlocks x blockSize. Closing is the owner's business.
 */
export class SubsetKvSource implements KvSource {
  readonly info: KvSampleInfo;
  private readonly identity: boolean;

  constructor(
    private readonly src: KvSource,
    private readonly indices: number[],
    replace: { seqLens?: number[]; tenants?: string[] | null } = {},
  ) {
    const i = src.info;
    const cap = i.maxBlocks * i.blockSize;
    const pick = <T>(a: T[] | null): T[] | null => (a ? indices.map((k) => a[k]) : null);
    const seqLens = replace.seqLens ?? indices.map((k) => i.seqLens[k]);
    if (seqLens.length !== indices.length) throw new Error('SubsetKvSource: one length per sequence');
    this.info = {
      ...i,
      numSeqs: indices.length,
      seqLens: seqLens.map((n) => Math.min(n, cap)),
      tenants: replace.tenants !== undefined ? replace.tenants : pick(i.tenants),
      positions: pick(i.positions),
      queryPositions: pick(i.queryPositions),
    };
    this.identity = indices.every((k, j) => k === j);
  }

  readLayer(layer: number): KvLayer {
    const l = this.src.readLayer(layer);
    const i = this.src.info;
    const stride = i.maxBlocks * i.blockSize * i.numKvHeads * i.headDim;
    const qStride = i.numQueries * (i.numHeads ?? 0) * i.headDim;
    const n = this.indices.length;
    if (this.identity)
      return {
        layer,
        key: l.key.subarray(0, n * stride),
        value: l.value.subarray(0, n * stride),
        query: l.query ? l.query.subarray(0, n * qStride) : null,
      };
    const rows = (a: Float32Array, s: number): Float32Array => {
      const out = new Float32Array(n * s);
      this.indices.forEach((k, j) => out.set(a.subarray(k * s, (k + 1) * s), j * s));
      return out;
    };
    return {
      layer,
      key: rows(l.key, stride),
      value: rows(l.value, stride),
      query: l.query && qStride > 0 ? rows(l.query, qStride) : null,
    };
  }
}

/** The first `n` sequences of a source. */
export function firstSequences(src: KvSource, n: number): KvSource {
  return n >= src.info.numSeqs
    ? src
    : new SubsetKvSource(
        src,
        Array.from({ length: n }, (_, k) => k),
      );
}
