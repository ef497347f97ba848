import type { KvDtype } from './dtype';

/** Rotary position embedding of the keys in a sample (DESIGN.md "KV sample file"). */
export interface RopeInfo {
  /** `applied` (the default): keys carry RoPE; `removed`: they were stored without it. */
  state: 'applied' | 'removed';
  theta: number | null;
  /** Hugging Face `rope_scaling` object, or null. */
  scaling: Record<string, unknown> | null;
}

/** What a kvplan-kv/1 sample holds, read from its header (nothing of the data). */
export interface KvSampleInfo {
  /** Path of the file, or null for an in-memory (synthetic) sample. */
  file: string | null;
  numSeqs: number;
  numLayers: number;
  /** Blocks per sequence in the tensors (padded past each sequence's length). */
  maxBlocks: number;
  blockSize: number;
  numKvHeads: number;
  headDim: number;
  /** Query vectors per sequence in `layers.<l>.query` (0 when the sample has none). */
  numQueries: number;
  /** Query heads (a multiple of numKvHeads), or null when the sample has no queries. */
  numHeads: number | null;
  dtype: KvDtype;
  /** Token count of each sequence. */
  seqLens: number[];
  tenants: string[] | null;
  model: string | null;
  rope: RopeInfo;
  /** First token position of each sequence (0 when absent). */
  positions: number[] | null;
  /** Position of each query of each sequence, or null. */
  queryPositions: number[][] | null;
  synthetic: boolean;
}

/** One layer of a sample, as float32, in the file's layout. */
export interface KvLayer {
  layer: number;
  /** [numSeqs, maxBlocks, blockSize, numKvHeads, headDim] */
  key: Float32Array;
  /** Same shape as key. */
  value: Float32Array;
  /** [numSeqs, numQueries, numHeads, headDim], or null. */
  query: Float32Array | null;
}

/** Anything that yields a sample layer by layer: a file reader or the synthetic generator. */
export interface KvSource {
  readonly info: KvSampleInfo;
  readLayer(layer: number): KvLayer;
  close?(): void;
}

/** Floats in one block (blockSize x numKvHeads x headDim). */
export function blockDim(info: Pick<KvSampleInfo, 'blockSize' | 'numKvHeads' | 'headDim'>): number {
  return info.blockSize * info.numKvHeads * info.headDim;
}

/** Full blocks of each sequence. */
export function fullBlocks(info: Pick<KvSampleInfo, 'seqLens' | 'blockSize' | 'maxBlocks'>): number[] {
  return info.seqLens.map((n) => Math.min(info.maxBlocks, Math.floor(n / info.blockSize)));
}
