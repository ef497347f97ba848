import type { Dtype, EngineConfig, ModelArch } from '../types';
import { DTYPE_BYTES, activationBytes, isQuantized, kvElementBytes } from './dtypes';

/** Parameter counts of a model, split by where they live (kvplan's model of a Llama-style decoder). */
export interface ParameterCounts {
  /** Every parameter: embeddings, lm_head unless tied, every expert. */
  total: number;
  /** Parameters one token touches: shared weights plus expertsPerToken experts. */
  activePerToken: number;
  /** Attention, MLP/expert and router matrices of the decoder layers (the ones quantisation shrinks). */
  linear: number;
  /** Token embeddings, lm_head (unless tied) and norms (kept at 16-bit by quantised checkpoints). */
  embeddingsAndNorms: number;
  /** The experts' matrices over every layer (part of `linear`; 0 for a dense model). */
  experts: number;
}

/**
 * Counts parameters of a decoder of `numLayers` layers, each with grouped-query attention
 * (q and o of heads x headDim, k and v of kvHeads x headDim; biases ignored) and a gated MLP
 * (gate, up, down) or, for a mixture of experts, `numExperts` gated experts of
 * `moeIntermediateSize` plus a router; two norms per layer and a final one.
 */
export function parameterCounts(model: ModelArch): ParameterCounts {
  const h = model.hiddenSize;
  const attn = h * model.numHeads * model.headDim * 2 + h * model.numKvHeads * model.headDim * 2;
  let mlpTotal: number;
  let mlpActive: number;
  let experts = 0;
  if (model.numExperts > 0) {
    const expert = 3 * h * model.moeIntermediateSize;
    experts = model.numLayers * model.numExperts * expert;
    const router = h * model.numExperts;
    mlpTotal = model.numExperts * expert + router;
    mlpActive = model.expertsPerToken * expert + router;
  } else {
    mlpTotal = mlpActive = 3 * h * model.intermediateSize;
  }
  const norms = model.numLayers * 2 * h + h;
  const embeddings = model.vocabSize * h * (model.tiedEmbeddings ? 1 : 2);
  const linear = model.numLayers * (attn + mlpTotal);
  const linearActive = model.numLayers * (attn + mlpActive);
  return {
    total: linear + embeddings + norms,
    activePerToken: linearActive + embeddings + norms,
    linear,
    embeddingsAndNorms: embeddings + norms,
    experts,
  };
}

/**
 * Bytes of the weights at `weightDtype`. A float dtype (fp32/bf16/fp16) applies to every tensor;
 * a quantised one (fp8/int8/int4) to the decoder's linear layers only, while embeddings, lm_head
 * and norms stay at the checkpoint's 16-bit width, as fp8, AWQ and GPTQ checkpoints served by
 * vLLM keep them. Per-group quantisation scales are not counted (under 4 % for int4 at group 128).
 */
export function weightBytes(model: ModelArch, weightDtype: Dtype = model.dtype): number {
  const p = parameterCounts(model);
  const w = DTYPE_BYTES[weightDtype];
  if (!isQuantized(weightDtype)) return p.total * w;
  return p.linear * w + p.embeddingsAndNorms * Math.min(2, activationBytes(model.dtype));
}

/** KV heads one GPU holds under tensor parallelism: split evenly, one replicated head when TP > kvHeads. */
export function kvHeadsPerGpu(model: ModelArch, tensorParallel = 1): number {
  return Math.max(1, Math.ceil(model.numKvHeads / tensorParallel));
}

/** KV-cache bytes per token over all layers and KV heads: 2 (K and V) x layers x kvHeads x headDim x bytes. */
export function kvBytesPerToken(
  model: ModelArch,
  kvCacheDtype: EngineConfig['kvCacheDtype'] = 'auto',
): number {
  return 2 * model.numLayers * model.numKvHeads * model.headDim * kvElementBytes(kvCacheDtype, model.dtype);
}

/** KV-cache bytes per token held by one GPU of a tensor-parallel group (see kvHeadsPerGpu). */
export function kvBytesPerTokenPerGpu(
  model: ModelArch,
  kvCacheDtype: EngineConfig['kvCacheDtype'],
  tensorParallel: number,
): number {
  return (
    2 *
    model.numLayers *
    kvHeadsPerGpu(model, tensorParallel) *
    model.headDim *
    kvElementBytes(kvCacheDtype, model.dtype)
  );
}
