import type { FusionProfile, SloSpec } from '@kvplan/core';
import type { Topology } from './hardware/topology';

export type { SloSpec } from '@kvplan/core';

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

/** The fabric between the GPUs of one node (hardware/topology.ts). */
export type FabricId = 'nvlink3' | 'nvlink4' | 'nvlink5' | 'pcie4' | 'pcie5' | 'pcie6';

export interface GpuSpec {
  id: string;
  name: string;
  memoryGiB: number;
  memoryBandwidthGBps: number;
  /** Dense (no sparsity) tensor-core TFLOP/s. */
  bf16Tflops: number;
  fp8Tflops: number;
  /** Per-GPU bandwidth of its fabric, both directions together (NVLink, else PCIe x16), GB/s. */
  interconnectGBps: number;
  /** The fabric between the GPUs of one node. */
  fabric: FabricId;
  /** GPUs per node in the usual server of this part. */
  gpusPerNode: number;
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
  /**
   * vLLM's async scheduling (on by default since vLLM 0.14; absent: on): the next step is planned
   * while one runs, so a request arriving during a step joins the step after next. Ignored under
   * pipeline parallelism, where vLLM did not support it.
   */
  asyncScheduling?: boolean;
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

/** How the simulator applies KV fusion (DESIGN.md "Fusion semantics", in the simulator). */
export interface FusionConfig {
  mode: 'bff' | 'cff';
  threshold: number;
  /** `tenant`: never fuse blocks of requests of different tenants. */
  scope: 'global' | 'tenant';
  /** CFF window, in chunks. */
  window: number;
  /** Model shared reads of fused blocks in the time model (default false: fusion only adds capacity). */
  sharedReads: boolean;
  /** The kvplan-fusion-profile/1 document to use; a parametric default when absent. */
  profile: FusionProfile | null;
}

export type RouterPolicy = 'round-robin' | 'least-loaded';

/** Coefficients of the step-time model (a calibration profile). See libs/sim/src/time/. */
export interface TimeModelCoefficients {
  name: string;
  /** Serving's fraction of the kernel-measured memory bandwidth (weight and KV reads); 1: as measured. */
  memEfficiency: number;
  /** Serving's fraction of the kernel-measured GEMM throughput; 1: as measured. */
  computeEfficiency: number;
  /** Serving's fraction of the kernel-measured attention throughput; 1: as measured. */
  attentionEfficiency: number;
  /** Multiplier on the kernels' measured per-call fixed times (1: as measured, 0: none). */
  kernelLaunchScale: number;
  /** Fixed cost of one engine step (scheduler, input preparation, launch), seconds. */
  stepOverheadS: number;
  /** Per layer per step: kernels other than GEMM and attention (norms, rotary, activation), seconds. */
  layerOverheadS: number;
  /** Per running sequence per step (scheduler and block-table bookkeeping), seconds. */
  requestOverheadS: number;
  /** Per prefill chunk in the step (chunked-prefill splits, metadata), seconds. */
  prefillChunkOverheadS: number;
  /** Per sampled token (sampling and detokenisation), seconds. */
  sampleOverheadS: number;
  /** Per token computed in the step, seconds. */
  tokenOverheadS: number;
  /** Added to each all-reduce beyond its measured kernel time, seconds. */
  allReduceLatencyS: number;
  /** Time added to the first token outside the engine (HTTP, detokenise), seconds. */
  frontendOverheadS: number;
  /**
   * Per-GPU serving factor by GPU id: a multiplier on the kernel-curve part of the step time
   * (GEMMs, attention, MoE, collectives, LM head; not the engine-side costs), for a serving bias
   * specific to that GPU (CUDA graphs, small kernels) that the shared costs cannot remove. `runs`:
   * the measured serving runs it was fitted on. A GPU not listed runs at 1.
   */
  servingFactors?: Record<string, ServingFactor>;
}

/** One GPU's serving factor and how many measured runs it was fitted on. */
export interface ServingFactor {
  factor: number;
  runs: number;
}

/** CPU KV offload (vLLM's OffloadingConnector with a CPU block pool), resolved. */
export interface KvOffloadConfig {
  /** CPU pool per replica, GiB (summed over the replica's GPUs, as vLLM's kv_offloading_size). */
  cpuGiB: number;
  /** Host memory of one node, GiB. */
  hostMemoryGiB: number;
  /** Blocks the CPU pool holds (cpuGiB over the bytes of one block on every GPU of the replica). */
  numCpuBlocks: number;
}

/** A simulation spec with every default resolved and the workload materialised. */
export interface ResolvedSpec {
  model: ModelArch;
  gpu: GpuSpec;
  /** Where the GPUs sit: fabric in a node, GPUs a node, network between nodes. */
  topology: Topology;
  tensorParallel: number;
  /** Pipeline stages per replica (vLLM's pipeline_parallel_size); absent: 1. */
  pipelineParallel?: number;
  /** CPU KV offload; absent or null: off. */
  kvOffload?: KvOffloadConfig | null;
  /** Data-parallel ranks per replica: each its own engine; MoE layers shared across them. */
  dataParallel: number;
  /** Experts spread over the tensorParallel x dataParallel ranks (vLLM enable_expert_parallel). */
  expertParallel: boolean;
  /** The busiest expert-parallel rank's routed tokens over an even split, large batches (moe.loadImbalance). */
  moe: { loadImbalance: number };
  replicas: number;
  router: RouterPolicy;
  engine: EngineConfig & { numGpuBlocks: number };
  workload: Workload;
  fusion: FusionConfig | null;
  slo: SloSpec | null;
  cost: { gpuHourUsd: number } | null;
  seed: number;
  timeModel: TimeModelCoefficients;
  /** Time-series resolution in seconds, or null for none. */
  timeseriesResolutionS: number | null;
}
