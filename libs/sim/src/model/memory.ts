import { InputError } from '@kvplan/core';
import type { EngineConfig, GpuSpec, ModelArch } from '../types';
import { DTYPE_BYTES, activationBytes } from './dtypes';
import { kvBytesPerTokenPerGpu, parameterCounts, weightBytes } from './size';

export const GiB = 2 ** 30;

/**
 * Memory outside torch's tensors that vLLM's profile run sees or that lands inside the budget:
 * CUDA context remnants and NCCL/cuBLAS workspaces (vLLM logs 0.1-0.4 GiB of `non_torch_memory`
 * on one GPU) and the CUDA-graph pool (vLLM >= 0.19 counts it inside gpuMemoryUtilization;
 * a few hundred MiB for 7-8B models). Fitted to the three measured KV capacities of the
 * calibration data (see test/model-memory.spec.ts), within the spread those logs show.
 */
export const OVERHEAD_BASE_GIB = 0.8;
/** Extra per GPU when tensorParallel > 1: NCCL buffers and vLLM's custom all-reduce IPC buffers. */
export const OVERHEAD_TP_GIB = 0.25;
/** Allocator fragmentation and caching slack, as a fraction of the usable memory. */
export const OVERHEAD_FRACTION = 0.005;
/**
 * The sampler's profile run (vLLM V1 `_dummy_sampler_run`) holds maxNumSeqs x vocab FP32 logits
 * plus their softmax and top-k/top-p scratch: about this many logits-sized FP32 buffers at peak
 * (vLLM logs about 1.2 GiB of activation peak for Llama-3.1-8B at 1024 sequences, 8192 tokens).
 */
export const SAMPLER_LOGIT_COPIES = 2.5;

export interface KvCapacityInput {
  model: ModelArch;
  gpu: GpuSpec;
  engine: Pick<
    EngineConfig,
    | 'blockSize'
    | 'maxNumSeqs'
    | 'maxNumBatchedTokens'
    | 'gpuMemoryUtilization'
    | 'kvCacheDtype'
    | 'weightDtype'
    | 'numGpuBlocks'
  >;
  tensorParallel: number;
  /** Pipeline stages (default 1): each GPU holds the weights and KV of numLayers / stages layers. */
  pipelineParallel?: number;
  /**
   * GPUs the experts of a MoE model are spread over (tensorParallel x dataParallel when the
   * data-parallel ranks share the MoE layers, with or without expert parallelism); default
   * tensorParallel.
   */
  expertShards?: number;
}

/** Per-GPU memory budget, GiB (bytes for kvBytesPerBlock). */
export interface KvBreakdown {
  /** gpu.memoryGiB. */
  totalGiB: number;
  /** totalGiB x gpuMemoryUtilization. */
  usableGiB: number;
  /** This GPU's shard of the weights: weights / tensorParallel, experts / expertShards. */
  weightsGiB: number;
  /** Peak activation of the profile run (see estimateActivationBytes). */
  activationsGiB: number;
  /** Non-torch memory, CUDA graphs, communication buffers, fragmentation. */
  overheadGiB: number;
  /** Memory given to the KV cache: numGpuBlocks x kvBytesPerBlock. */
  kvGiB: number;
  /** Bytes one block (blockSize tokens, all layers, this GPU's KV heads) takes on one GPU. */
  kvBytesPerBlock: number;
}

export interface KvCapacity {
  /** KV blocks per replica (every GPU of a tensor-parallel group holds its heads of each block). */
  numGpuBlocks: number;
  /** True when numGpuBlocks came from the engine config rather than the memory budget. */
  forced: boolean;
  breakdown: KvBreakdown;
}

/**
 * Peak activation bytes per GPU of vLLM's profile run, the larger of:
 * - the forward pass over T = maxNumBatchedTokens tokens, where at most one layer's
 *   intermediates are alive: T x actBytes x (2h [residual + normed hidden] + qkv width / TP +
 *   3 x I / TP [gate and up outputs, activated product]). For a mixture of experts I is
 *   expertsPerToken x moeIntermediateSize, plus expertsPerToken x h for the per-expert outputs
 *   the fused kernel keeps before their weighted sum;
 * - the sampler run: maxNumSeqs x vocab x 4 bytes x SAMPLER_LOGIT_COPIES (logits are gathered to
 *   the full vocabulary on every rank).
 */
export function estimateActivationBytes(input: KvCapacityInput): number {
  const { model, engine, tensorParallel: tp } = input;
  const act = activationBytes(model.dtype);
  const h = model.hiddenSize;
  const kvHeadsGpu = Math.max(1, Math.ceil(model.numKvHeads / tp));
  const qkv = (model.numHeads * model.headDim) / tp + 2 * kvHeadsGpu * model.headDim;
  const ffn =
    model.numExperts > 0
      ? (3 * model.expertsPerToken * model.moeIntermediateSize) / tp + model.expertsPerToken * h
      : (3 * model.intermediateSize) / tp;
  const forward = engine.maxNumBatchedTokens * act * (2 * h + qkv + ffn);
  const sampler = engine.maxNumSeqs * model.vocabSize * 4 * SAMPLER_LOGIT_COPIES;
  return Math.max(forward, sampler);
}

/** Non-torch overhead per GPU in bytes (see OVERHEAD_*). */
export function estimateOverheadBytes(
  gpu: GpuSpec,
  gpuMemoryUtilization: number,
  tensorParallel: number,
): number {
  const usable = gpu.memoryGiB * gpuMemoryUtilization;
  return (OVERHEAD_BASE_GIB + (tensorParallel > 1 ? OVERHEAD_TP_GIB : 0) + OVERHEAD_FRACTION * usable) * GiB;
}

const round = (x: number): number => Math.round(x * 1000) / 1000;

/**
 * The KV capacity of one replica as vLLM V1 sizes it. Per GPU: usable = memoryGiB x
 * gpuMemoryUtilization; minus the weights shard (weights at weightDtype / TP); minus the profile
 * run's activation peak; minus the non-torch overhead; what is left, divided by the bytes a block
 * takes on one GPU (2 x layers x KV heads per GPU x headDim x KV dtype bytes x blockSize; KV heads
 * split over TP, one replicated per GPU when TP > KV heads), floored, is the number of blocks.
 * `engine.numGpuBlocks`, when given, is used as is. Throws an InputError (path `model`) with the
 * numbers when the weights or the KV cache do not fit.
 */
export function deriveKvCapacity(input: KvCapacityInput): KvCapacity {
  const { model, gpu, engine, tensorParallel: tp } = input;
  // Pipeline stages split the layers (and so the weights and each block's KV) evenly; the experts
  // of a MoE model may be spread over more GPUs than the tensor-parallel group (expertShards).
  const pp = input.pipelineParallel ?? 1;
  const shards = input.expertShards ?? tp;
  const kvBytesPerBlock = (kvBytesPerTokenPerGpu(model, engine.kvCacheDtype, tp) * engine.blockSize) / pp;
  const usable = gpu.memoryGiB * engine.gpuMemoryUtilization * GiB;
  const expertBytes = parameterCounts(model).experts * DTYPE_BYTES[engine.weightDtype];
  const weights = ((weightBytes(model, engine.weightDtype) - expertBytes) / tp + expertBytes / shards) / pp;
  const activations = estimateActivationBytes(input);
  const overhead = estimateOverheadBytes(gpu, engine.gpuMemoryUtilization, Math.max(tp, shards) * pp);
  const breakdown = (kvBytes: number): KvBreakdown => ({
    totalGiB: gpu.memoryGiB,
    usableGiB: round(usable / GiB),
    weightsGiB: round(weights / GiB),
    activationsGiB: round(activations / GiB),
    overheadGiB: round(overhead / GiB),
    kvGiB: round(kvBytes / GiB),
    kvBytesPerBlock,
  });
  const where = `${model.id} at ${engine.weightDtype} with tensorParallel ${tp}${pp > 1 ? ` x pipelineParallel ${pp}` : ''} on gpu ${gpu.id}`;
  if (weights > usable) {
    throw new InputError([
      {
        path: 'model',
        message:
          `does not fit: ${where} needs ${(weights / GiB).toFixed(2)} GiB of weights per GPU, ` +
          `${(usable / GiB).toFixed(2)} GiB available (gpu memoryGiB ${gpu.memoryGiB} x engine.gpuMemoryUtilization ` +
          `${engine.gpuMemoryUtilization}); raise tensorParallel, pick a larger gpu or a smaller engine.weightDtype`,
      },
    ]);
  }
  if (engine.numGpuBlocks !== undefined) {
    return {
      numGpuBlocks: engine.numGpuBlocks,
      forced: true,
      breakdown: breakdown(engine.numGpuBlocks * kvBytesPerBlock),
    };
  }
  const left = usable - weights - activations - overhead;
  const blocks = left > 0 ? Math.floor(left / kvBytesPerBlock) : 0;
  if (blocks < 1) {
    throw new InputError([
      {
        path: 'model',
        message:
          `no memory left for the KV cache: ${where} needs ${(weights / GiB).toFixed(2)} GiB of weights, ` +
          `${(activations / GiB).toFixed(2)} GiB of activations and ${(overhead / GiB).toFixed(2)} GiB of overhead per GPU, ` +
          `${(usable / GiB).toFixed(2)} GiB available (gpu memoryGiB ${gpu.memoryGiB} x engine.gpuMemoryUtilization ` +
          `${engine.gpuMemoryUtilization}); raise tensorParallel or engine.gpuMemoryUtilization, or pick a larger gpu`,
      },
    ]);
  }
  return { numGpuBlocks: blocks, forced: false, breakdown: breakdown(blocks * kvBytesPerBlock) };
}

/**
 * Blocks a CPU KV pool of `cpuGiB` holds (vLLM's kv_offloading_size, summed over the replica's
 * GPUs): one block takes blockSize tokens of every layer's KV on every GPU of the replica.
 */
export function cpuKvBlocks(
  model: ModelArch,
  engine: Pick<EngineConfig, 'kvCacheDtype' | 'blockSize'>,
  tensorParallel: number,
  cpuGiB: number,
): { numCpuBlocks: number; blockBytes: number } {
  const blockBytes =
    kvBytesPerTokenPerGpu(model, engine.kvCacheDtype, tensorParallel) * tensorParallel * engine.blockSize;
  return { numCpuBlocks: Math.floor((cpuGiB * GiB) / blockBytes), blockBytes };
}

/** GPUs one replica takes: tensorParallel x pipelineParallel x dataParallel. */
export function gpusPerReplica(spec: {
  tensorParallel: number;
  pipelineParallel?: number;
  dataParallel?: number;
}): number {
  return spec.tensorParallel * (spec.pipelineParallel ?? 1) * (spec.dataParallel ?? 1);
}
