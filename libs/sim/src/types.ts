/** Shared shapes of libs/sim. Resolved forms: every default filled, every unit explicit. */

export type Dtype = 'float32' | 'bfloat16' | 'float16' | 'fp8' | 'int8' | 'int4';

/** A decoder-only transformer's architecture, from a preset or a Hugging Face config.json. */
export interface ModelArch {
  id: string;
  numLayers: number;
  hiddenSize: number;
  numHeads: number;
  numKvHeads: number;
  headDim: number;
  intermediateSize: number;
  vocabSize: number;
  tiedEmbeddings: boolean;
  /** 0 for a dense model. */
  numExperts: number;
  expertsPerToken: number;
  /** Per-expert FFN width of MoE layers (intermediateSize when absent). */
  moeIntermediateSize: number;
  maxPositionEmbeddings: number;
  /** Checkpoint dtype (torch_dtype). */
  dtype: Dtype;
}

export interface GpuSpec {
  id: string;
  name: string;
  memoryGiB: number;
  memoryBandwidthGBps: number;
  /** Dense (no sparsity) tensor-core TFLOP/s. */
  bf16Tflops: number;
  fp8Tflops: number;
  /** Per-GPU all-reduce bandwidth between GPUs of one replica (NVLink, else PCIe). */
  interconnectGBps: number;
}

export interface EngineConfig {
  blockSize: number;
  maxNumSeqs: number;
  maxNumBatchedTokens: number;
  maxModelLen: number;
  gpuMemoryUtilization: number;
  /** Forced KV capacity in blocks per replica; derived from memory when undefined. */
  numGpuBlocks?: number;
  enablePrefixCaching: boolean;
  kvCacheDtype: 'auto' | 'fp8' | 'bfloat16' | 'float16' | 'float32';
  weightDtype: Dtype;
}

/**
 * A workload materialised as columns (struct of arrays) so a million requests stay compact.
 * Rows are sorted by arrival time. -1 means "none" in the integer columns.
 */
export interface Workload {
  n: number;
  arrivalS: Float64Array;
  inputTokens: Int32Array;
  outputTokens: Int32Array;
  /** Index into prefixGroupNames, or -1. */
  prefixGroup: Int32Array;
  /** Leading tokens shared with every request of the same prefix group (0 when none). */
  prefixTokens: Int32Array;
  /** Index into tenantNames, or -1. */
  tenant: Int32Array;
  tenantNames: string[];
  prefixGroupNames: string[];
  /** Optional per-request ids from a trace (else the row index is the id). */
  requestIds?: string[];
  /** Optional stage index per request (trace column `stage` or generator stage). */
  stage?: Int32Array;
}

export interface SloSpec {
  ttftMs?: { p99?: number; p90?: number; p50?: number };
  tpotMs?: { p99?: number; p90?: number; p50?: number };
  e2elMs?: { p99?: number; p90?: number; p50?: number };
}
