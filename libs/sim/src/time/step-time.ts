import type { Dtype, GpuSpec, ModelArch, TimeModelCoefficients } from '../types';

/** Bytes per element of a weight or KV dtype. */
export function dtypeBytes(d: Dtype | 'auto'): number {
  switch (d) {
    case 'float32':
      return 4;
    case 'bfloat16':
    case 'float16':
      return 2;
    case 'fp8':
    case 'int8':
      return 1;
    case 'int4':
      return 0.5;
    default:
      return 2;
  }
}

/** The work of one engine step, accumulated by the scheduler request by request. */
export interface StepWork {
  /** Requests scheduled in the step. */
  numReqs: number;
  /** Tokens computed in the step (prefill chunks plus one per decode). */
  newTokens: number;
  /** Requests that sample a token at the end of the step. */
  numSampled: number;
  /** Sum over requests of newTokens x (context before + (newTokens + 1) / 2): causal attention pairs. */
  attnPairs: number;
  /** Sum over requests of context after the step: KV tokens read. */
  kvReadTokens: number;
  /** FLOPs outside the model (KV-fusion similarity search), on the tensor cores. */
  extraFlops: number;
}

export function emptyStepWork(): StepWork {
  return { numReqs: 0, newTokens: 0, numSampled: 0, attnPairs: 0, kvReadTokens: 0, extraFlops: 0 };
}

/**
 * Step time of one replica as a roofline: the linear layers take the larger of reading the
 * weight shard and computing their FLOPs; attention the larger of reading the KV it attends to
 * and computing its FLOPs; tensor parallelism adds two all-reduces per layer; fixed costs are
 * per step, per layer, per request and per prefilled token. Efficiency coefficients scale the
 * peaks; they are what calibration fits.
 */
export class StepTimeModel {
  readonly c: TimeModelCoefficients;
  private readonly denseWeightBytes: number;
  private readonly expertBytesPerLayer: number;
  private readonly numExperts: number;
  private readonly expertsPerToken: number;
  private readonly numLayers: number;
  private readonly linearFlopsPerToken: number;
  private readonly lmHeadFlopsPerSample: number;
  private readonly attnFlopsPerPair: number;
  private readonly kvBytesPerTokenPerGpu: number;
  private readonly actBytesPerToken: number;
  private readonly memBw: number;
  private readonly peakFlops: number;
  private readonly tp: number;
  private readonly interconnect: number;

  constructor(
    model: ModelArch,
    gpu: GpuSpec,
    opts: {
      tensorParallel: number;
      weightDtype: Dtype;
      kvCacheDtype: string;
      coefficients: TimeModelCoefficients;
    },
  ) {
    const c = opts.coefficients;
    this.c = c;
    const tp = opts.tensorParallel;
    this.tp = tp;
    const L = model.numLayers;
    const h = model.hiddenSize;
    const d = model.headDim;
    const wb = dtypeBytes(opts.weightDtype);
    const attnParams = h * model.numHeads * d * 2 + 2 * h * model.numKvHeads * d;
    const moe = model.numExperts > 0;
    const mlpDense = moe ? 0 : 3 * h * model.intermediateSize;
    const expertParams = moe ? 3 * h * model.moeIntermediateSize : 0;
    const routerParams = moe ? h * model.numExperts : 0;
    const lmHead = h * model.vocabSize;
    this.numLayers = L;
    this.numExperts = model.numExperts;
    this.expertsPerToken = model.expertsPerToken;
    this.denseWeightBytes = ((L * (attnParams + mlpDense + routerParams) + lmHead) * wb) / tp;
    this.expertBytesPerLayer = (expertParams * wb) / tp;
    this.linearFlopsPerToken =
      (2 * L * (attnParams + mlpDense + routerParams + model.expertsPerToken * expertParams)) / tp;
    this.lmHeadFlopsPerSample = (2 * lmHead) / tp;
    this.attnFlopsPerPair = (4 * L * model.numHeads * d) / tp;
    const kvBytes =
      opts.kvCacheDtype === 'auto' ? dtypeBytes(model.dtype) : dtypeBytes(opts.kvCacheDtype as Dtype);
    const kvHeadsPerGpu = Math.max(1, Math.ceil(model.numKvHeads / tp));
    this.kvBytesPerTokenPerGpu = 2 * L * kvHeadsPerGpu * d * kvBytes;
    this.actBytesPerToken = h * 2;
    this.memBw = gpu.memoryBandwidthGBps * 1e9;
    const fp8 = opts.weightDtype === 'fp8';
    this.peakFlops = (fp8 ? gpu.fp8Tflops || gpu.bf16Tflops : gpu.bf16Tflops) * 1e12;
    this.interconnect = gpu.interconnectGBps * 1e9;
  }

  /** Seconds that `flops` of extra matrix work take. */
  flopsTime(flops: number): number {
    return flops / (this.peakFlops * this.c.computeEfficiency);
  }

  /** Seconds one step takes. */
  stepTime(w: StepWork): number {
    const c = this.c;
    if (w.numReqs === 0) return 0;
    let weightBytes = this.denseWeightBytes;
    if (this.numExperts > 0) {
      // Expected distinct experts touched per layer by newTokens tokens choosing k of E each.
      const e = this.numExperts;
      const touched = e * (1 - Math.pow(1 - this.expertsPerToken / e, w.newTokens));
      weightBytes += this.numLayers * touched * this.expertBytesPerLayer;
    }
    const bw = this.memBw * c.memEfficiency;
    const linearFlops = this.linearFlopsPerToken * w.newTokens + this.lmHeadFlopsPerSample * w.numSampled;
    const linear = Math.max(
      (weightBytes + this.actBytesPerToken * w.newTokens * this.numLayers) / bw,
      linearFlops / (this.peakFlops * c.computeEfficiency),
    );
    const attention = Math.max(
      (this.kvBytesPerTokenPerGpu * (w.kvReadTokens + w.newTokens)) / bw,
      (this.attnFlopsPerPair * w.attnPairs) / (this.peakFlops * c.attentionEfficiency),
    );
    let comm = 0;
    if (this.tp > 1) {
      const bytes = w.newTokens * this.actBytesPerToken;
      const perAllReduce = c.allReduceLatencyS + (2 * (this.tp - 1) * bytes) / (this.tp * this.interconnect);
      comm = 2 * this.numLayers * perAllReduce;
    }
    return (
      c.stepOverheadS +
      this.numLayers * c.layerOverheadS +
      w.numReqs * c.requestOverheadS +
      w.newTokens * c.tokenOverheadS +
      linear +
      attention +
      comm +
      this.flopsTime(w.extraFlops)
    );
  }
}
