import type { KvSampleInfo } from '@kvplan/core';

export type { KvSampleInfo, RopeInfo } from '@kvplan/core';

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
