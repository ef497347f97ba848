import { Collectives } from '../hardware/collectives';
import {
  CompiledCurve,
  decodeAttentionCurve,
  interpolate,
  kernelCalibrationFor,
  type CalibrationSource,
  type GpuKernelCurves,
} from '../hardware/kernel-curves';
import { CompiledMoeCurve, moeCurveFor, moeRouteBytes } from '../hardware/moe-curves';
import { defaultTopology, type Topology } from '../hardware/topology';
import { DEFAULT_LOAD_IMBALANCE, expertsTouched, loadImbalance, remoteRanksPerToken } from './moe';
import { servingFactorFor } from './profiles';
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
  /** Requests computing more than one token (prefill chunks); the others decode. */
  prefillReqs: number;
  /** Tokens of the prefill chunks. */
  prefillTokens: number;
  /** attnPairs of the prefill chunks. */
  prefillPairs: number;
  /** kvReadTokens of the prefill chunks (context cached before their chunk). */
  prefillKvRead: number;
  /** FLOPs outside the model (KV-fusion similarity search), on the tensor cores. */
  extraFlops: number;
  /**
   * Tokens the other data-parallel ranks run through the shared MoE layers in the same step
   * (set by the simulation for lockstep groups; 0 otherwise).
   */
  peerTokens: number;
}

/**
 * One batch under pipeline parallelism, split as it runs: the engine's own work before it (serial
 * per batch), each stage's share of the layers, what only the last stage does (LM head and
 * sampling), and the activation transfer at each stage boundary.
 */
export interface PipelineStepTimes {
  /** Engine-side seconds before the batch reaches the first stage (per step, request, chunk, token). */
  hostS: number;
  /** Seconds of one stage's layers (numLayers / stages of them). */
  stageS: number;
  /** Seconds the last stage adds: LM head, sampling, work outside the model. */
  lastS: number;
  /** Seconds to send the activations (hidden states and residual) of the batch's tokens across one boundary, per link kind. */
  intraNodeXferS: number;
  interNodeXferS: number;
}

/** The links between pipeline stages: within a node (NVLink or PCIe) and between nodes. */
export interface StageLinks {
  intraNodeGBps: number;
  intraNodeLatencyS: number;
  interNodeGBps: number;
  interNodeLatencyS: number;
}

export function emptyStepWork(): StepWork {
  return {
    numReqs: 0,
    newTokens: 0,
    numSampled: 0,
    attnPairs: 0,
    kvReadTokens: 0,
    prefillReqs: 0,
    prefillTokens: 0,
    prefillPairs: 0,
    prefillKvRead: 0,
    extraFlops: 0,
    peerTokens: 0,
  };
}

/** GEMM calls per layer (QKV, output, gate-up, down; MoE adds the router). */
const GEMMS_PER_LAYER = 4;

/**
 * Step time of one replica from the GPU's kernel curves (kernel-curves.ts: measured on it, scaled
 * from a sibling, or generic datasheet fractions): the linear layers as GEMMs of m = tokens in
 * the step, prefill attention by prompt length and batch, decode attention by tokens cached per
 * sequence and batch, two all-reduces per layer under tensor parallelism (collectives.ts: measured
 * curves inside a node on the measured fabric, else the topology); then the engine-side
 * costs the kernels do not see (per step, per layer, per running sequence, per prefill chunk,
 * per sampled token, per token), which are what serving calibration fits. The three efficiency
 * coefficients are serving's fraction of the kernel-measured rates (1: as measured); the GPU's
 * serving factor (coefficients.servingFactors, 1 where none) multiplies the whole kernel part.
 */
export class StepTimeModel {
  readonly c: TimeModelCoefficients;
  /** Where the kernel curves come from (result `meta.calibrated`). */
  readonly calibrated: CalibrationSource;
  /**
   * This GPU's serving factor on the kernel-curve part of the step (GEMMs, attention, MoE,
   * collectives, LM head), resolved once: 1 where the coefficients have none for it.
   */
  readonly servingFactor: number;
  private readonly curves: GpuKernelCurves;
  /** The collectives of the tensor-parallel group (and, for MoE, the expert group). */
  readonly collectives: Collectives;
  private readonly ctx: CompiledCurve;
  private readonly gen: CompiledCurve;
  /** Launch seconds of the attention calls of one step (one per layer), scaled. */
  private readonly ctxLaunchS: number;
  private readonly genLaunchS: number;

  private readonly denseWeightBytes: number;
  private readonly numExperts: number;
  private readonly expertsPerToken: number;
  private readonly numLayers: number;
  private readonly denseFlopsPerToken: number;
  private readonly lmHeadFlopsPerSample: number;
  private readonly lmHeadBytes: number;
  private readonly attnFlopsPerPair: number;
  private readonly kvBytesPerTokenPerGpu: number;
  private readonly qoBytesPerToken: number;
  private readonly headsPerGpu: number;
  private readonly kvHeadsPerGpu: number;
  private readonly actBytesPerToken: number;
  private readonly gemmCalls: number;
  private readonly memBw: number;
  private readonly peakFlops: number;
  private readonly tp: number;
  /**
   * MoE layers shared by the data-parallel ranks (dataParallel > 1 or expert parallelism): their
   * cost is by the tokens of the whole group (moeTime), not in `linear`.
   */
  readonly sharedMoe: boolean;
  /** GPUs the expert layers are spread over: tensorParallel x dataParallel. */
  readonly expertRanks: number;
  readonly expertParallel: boolean;
  private readonly dp: number;
  private readonly skew: number;
  private readonly expertBytesFull: number;
  /** The GPU's fused-MoE kernel curve (own or a measured sibling's), or null: experts as GEMMs. */
  private readonly moeCurve: CompiledMoeCurve | null;
  private readonly expertFlopsPerRoute: number;
  /** Hidden size and per-expert FFN width, for the fused-MoE kernel's per-route traffic. */
  private readonly hidden: number;
  private readonly moeInter: number;
  /** Seconds of the shared MoE layers by group tokens, filled lazily. */
  private readonly moeByTokens: Float64Array;
  /** Seconds of the linear layers (and their all-reduces) by tokens in the step, filled lazily. */
  private readonly linearByTokens: Float64Array;
  /** Engine-side costs: per step (with the per-layer ones), per request, chunk, sample, token. */
  private readonly fixedS: number;
  /** Bandwidth and FLOP/s attention reaches in serving (before the curves' fractions). */
  private readonly attnBw: number;
  private readonly attnPeak: number;
  private readonly perRequestS: number;
  private readonly perChunkS: number;
  private readonly perSampleS: number;
  private readonly perTokenS: number;
  private readonly stageLinks: StageLinks | null;
  /** Bytes sent across a stage boundary per token: hidden states and residual at 16 bits. */
  private readonly stageActBytesPerToken: number;
  /** Seconds of the LM head by sampled requests, filled lazily. */
  private readonly headBySamples: Float64Array;

  constructor(
    model: ModelArch,
    gpu: GpuSpec,
    opts: {
      tensorParallel: number;
      weightDtype: Dtype;
      kvCacheDtype: string;
      coefficients: TimeModelCoefficients;
      /** Largest tokens per step (sizes the lazily filled tables; larger steps are computed each time). */
      maxTokensPerStep?: number;
      /** Where the GPUs sit (default: the GPU preset's fabric, 8 a node). */
      topology?: Topology;
      /** Links between pipeline stages (only read by pipelineStep). */
      stageLinks?: StageLinks;
      /** Data-parallel ranks (attention per rank, MoE layers shared); default 1. */
      dataParallel?: number;
      /** Experts spread over the tensorParallel x dataParallel ranks (vLLM enable_expert_parallel). */
      expertParallel?: boolean;
      /** Busiest expert-parallel rank's load over an even split on large batches (moe.loadImbalance). */
      loadImbalance?: number;
    },
  ) {
    const c = opts.coefficients;
    this.c = c;
    const cal = kernelCalibrationFor(gpu);
    this.calibrated = cal.source;
    this.curves = cal.curves;
    this.servingFactor = servingFactorFor(c, gpu.id)?.factor ?? 1;
    const tp = opts.tensorParallel;
    this.tp = tp;
    this.collectives = new Collectives(gpu, opts.topology ?? defaultTopology(gpu), c.kernelLaunchScale);
    this.kvHeadsPerGpu = Math.max(1, Math.ceil(model.numKvHeads / tp));
    this.headsPerGpu = Math.max(1, Math.ceil(model.numHeads / tp));
    // Attention curves are cut at the model's KV heads per GPU; decode attention takes the kernel
    // path of the model's head layout (multi-head or grouped).
    this.ctx = new CompiledCurve(cal.curves.contextAttention, this.kvHeadsPerGpu);
    const gen = decodeAttentionCurve(cal.curves, model.numHeads, model.numKvHeads);
    this.gen = new CompiledCurve(gen, this.kvHeadsPerGpu);
    this.ctxLaunchS = model.numLayers * cal.curves.contextAttention.launchS * c.kernelLaunchScale;
    this.genLaunchS = model.numLayers * gen.launchS * c.kernelLaunchScale;
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
    this.denseWeightBytes = (L * (attnParams + mlpDense + routerParams) * wb) / tp;
    this.denseFlopsPerToken = (2 * L * (attnParams + mlpDense + routerParams)) / tp;
    this.lmHeadBytes = (lmHead * wb) / tp;
    this.dp = opts.dataParallel ?? 1;
    this.expertParallel = moe && opts.expertParallel === true;
    this.sharedMoe = moe && (this.dp > 1 || this.expertParallel);
    this.expertRanks = tp * this.dp;
    this.skew = opts.loadImbalance ?? DEFAULT_LOAD_IMBALANCE;
    this.expertBytesFull = expertParams * wb;
    this.expertFlopsPerRoute = 2 * L * expertParams;
    this.hidden = h;
    this.moeInter = moe ? model.moeIntermediateSize : 0;
    this.lmHeadFlopsPerSample = (2 * lmHead) / tp;
    this.attnFlopsPerPair = (4 * L * model.numHeads * d) / tp;
    const kvBytes =
      opts.kvCacheDtype === 'auto' ? dtypeBytes(model.dtype) : dtypeBytes(opts.kvCacheDtype as Dtype);
    this.kvBytesPerTokenPerGpu = 2 * L * this.kvHeadsPerGpu * d * kvBytes;
    this.qoBytesPerToken = 2 * L * this.headsPerGpu * d * 2;
    this.actBytesPerToken = h * 2;
    const moeCurve = moe ? moeCurveFor(gpu) : null;
    // Cut once at the size of the expert matrices each GPU runs (hidden x inter, inter sliced
    // over the GPUs the experts are spread across unless whole experts are placed).
    const shard = this.sharedMoe ? (this.expertParallel ? 1 : this.expertRanks) : tp;
    this.moeCurve = moeCurve ? new CompiledMoeCurve(moeCurve, (h * model.moeIntermediateSize) / shard) : null;
    // With a fused-MoE curve the experts' two GEMMs are its calls (its launch time); the router stays a GEMM.
    this.gemmCalls = L * (moeCurve ? GEMMS_PER_LAYER - 1 : GEMMS_PER_LAYER + (moe ? 1 : 0));
    this.memBw = gpu.memoryBandwidthGBps * 1e9;
    const fp8 = opts.weightDtype === 'fp8';
    this.peakFlops = (fp8 ? gpu.fp8Tflops || gpu.bf16Tflops : gpu.bf16Tflops) * 1e12;
    this.stageLinks = opts.stageLinks ?? null;
    this.stageActBytesPerToken = 2 * h * 2;
    const size = Math.min(1 << 16, Math.max(1, opts.maxTokensPerStep ?? 8192)) + 1;
    this.linearByTokens = new Float64Array(size).fill(-1);
    this.headBySamples = new Float64Array(size).fill(-1);
    this.moeByTokens = new Float64Array(this.sharedMoe ? size * this.dp : 0).fill(-1);
    this.fixedS = c.stepOverheadS + L * c.layerOverheadS;
    this.attnBw = this.memBw * c.memEfficiency;
    this.attnPeak = this.peakFlops * c.attentionEfficiency;
    this.perRequestS = c.requestOverheadS;
    this.perChunkS = c.prefillChunkOverheadS;
    this.perSampleS = c.sampleOverheadS;
    this.perTokenS = c.tokenOverheadS;
  }

  /** Seconds that `flops` of extra matrix work take (GEMM-like, at the largest GEMM's efficiency). */
  flopsTime(flops: number): number {
    const g = this.curves.gemm;
    return (
      (flops * this.servingFactor) /
      (this.peakFlops * g.compute[g.compute.length - 1] * this.c.computeEfficiency)
    );
  }

  /** Seconds of the linear layers and the all-reduces for `m` tokens. */
  private linear(m: number): number {
    const c = this.c;
    const g = this.curves.gemm;
    const bw = this.memBw * c.memEfficiency;
    const peak = this.peakFlops * c.computeEfficiency;
    const lx = Math.log2(m > 1 ? m : 1);
    const bytes = this.denseWeightBytes + this.actBytesPerToken * m * this.numLayers;
    const mem = bytes / (bw * interpolate(g, g.mem, lx, 0));
    const cmp = (this.denseFlopsPerToken * m) / (peak * interpolate(g, g.compute, lx, 0));
    let t = (mem > cmp ? mem : cmp) + this.gemmCalls * g.launchS * c.kernelLaunchScale;
    if (this.numExperts > 0 && !this.sharedMoe) {
      // Expected distinct experts touched per layer by m tokens choosing k of E each.
      const e = this.numExperts;
      const routed = m * this.expertsPerToken;
      const touched = e * (1 - Math.pow(1 - this.expertsPerToken / e, m));
      t += this.experts(routed, touched, routed / touched, this.tp, routed);
    }
    if (this.tp > 1) {
      // Two all-reduces a layer (attention, MLP); shared MoE layers bring their own collectives,
      // and under expert parallelism the tokens come back split over the TP ranks (all-gather).
      const msg = m * this.actBytesPerToken;
      const ar = c.allReduceLatencyS + this.collectives.time('allReduce', msg, this.tp);
      if (!this.sharedMoe) t += 2 * this.numLayers * ar;
      else {
        t += this.numLayers * ar;
        if (this.expertParallel)
          t += this.numLayers * (c.allReduceLatencyS + this.collectives.time('allGather', msg, this.tp));
      }
    }
    return t * this.servingFactor;
  }

  /**
   * Seconds of the shared MoE layers (every layer) for `tokens` tokens over the whole
   * data-parallel group, on the busiest rank, with `skew` the load-imbalance factor (default: the
   * spec's). Expert parallelism: all-to-all dispatch of each rank's tokens to the ranks holding
   * their top-k experts, the busiest rank's experts (its routed tokens times the imbalance), the
   * combine back. Without it (vLLM's MoE over a tensor-parallel group of TP x DP ranks): an
   * all-gather of the tokens over the DP ranks, every expert sliced over the ranks, an all-reduce.
   */
  moeTime(tokens: number, skew?: number): number {
    if (skew !== undefined) return this.moeCompute(tokens, skew);
    const tab = this.moeByTokens;
    if (tokens >= tab.length) return this.moeCompute(tokens, this.skew);
    let v = tab[tokens];
    if (v < 0) v = tab[tokens] = this.moeCompute(tokens, this.skew);
    return v;
  }

  private moeCompute(tokens: number, skew: number): number {
    if (!this.sharedMoe || tokens <= 0) return 0;
    const c = this.c;
    const L = this.numLayers;
    const e = this.numExperts;
    const k = this.expertsPerToken;
    const G = this.expertRanks;
    const hb = this.actBytesPerToken;
    // routes/touched: the busiest rank's routed tokens and distinct experts; the GEMMs run at the
    // efficiency of an even split's tokens per expert (more tokens on a rank never make it faster).
    let routes: number;
    let touched: number;
    let perExpert: number;
    let shard: number;
    let comm: number;
    if (this.expertParallel) {
      const imb = loadImbalance(G, tokens, k, skew);
      const even = (tokens * k) / G;
      routes = imb * even;
      touched = expertsTouched(e / G, routes);
      perExpert = even / expertsTouched(e / G, even);
      shard = 1;
      // Each rank dispatches its share of the tokens; the busiest receives imb times the mean.
      const sent = (imb * (tokens / G) * hb * remoteRanksPerToken(e, k, G) * G) / (G - 1 || 1);
      comm = 2 * (c.allReduceLatencyS + this.collectives.time('allToAll', sent, G));
    } else {
      routes = tokens * k;
      touched = e * (1 - Math.pow(1 - k / e, tokens));
      perExpert = routes / touched;
      shard = G;
      comm =
        c.allReduceLatencyS +
        this.collectives.time('allGather', tokens * hb, this.dp) +
        c.allReduceLatencyS +
        this.collectives.time('allReduce', tokens * hb, G);
    }
    return (this.experts(routes, touched, perExpert, shard, tokens * k) + L * comm) * this.servingFactor;
  }

  /**
   * Seconds of the experts of every layer: `routes` routed tokens over `touched` distinct experts
   * (each at `perExpert` tokens), their weights and FLOPs divided over `shard` GPUs. On the GPU's
   * fused-MoE curve where the kernel data has one (moe-curves.ts), else as dense GEMMs at the
   * tokens each expert receives. `batchRoutes`: the routes (tokens x top-k) of the whole batch
   * the kernel runs over, whichever rank's experts they go to (vLLM's fused MoE under expert
   * parallelism runs over every token of the data-parallel group and masks the other ranks'
   * experts): their activation traffic is on the curve's route term.
   */
  private experts(
    routes: number,
    touched: number,
    perExpert: number,
    shard: number,
    batchRoutes: number,
  ): number {
    const c = this.c;
    const L = this.numLayers;
    const bw = this.memBw * c.memEfficiency;
    const peak = this.peakFlops * c.computeEfficiency;
    const bytes = (L * touched * this.expertBytesFull) / shard;
    const flops = (this.expertFlopsPerRoute * routes) / shard;
    if (this.moeCurve)
      return (
        L * this.moeCurve.launchS * c.kernelLaunchScale +
        this.moeCurve.time(
          perExpert,
          touched,
          bytes,
          flops,
          batchRoutes,
          L * batchRoutes * moeRouteBytes(this.hidden, this.moeInter / shard),
          bw,
          peak,
        )
      );
    const g = this.curves.gemm;
    const le = Math.log2(perExpert > 1 ? perExpert : 1);
    const eMem = bytes / (bw * interpolate(g, g.mem, le, 0));
    const eCmp = flops / (peak * interpolate(g, g.compute, le, 0));
    return eMem > eCmp ? eMem : eCmp;
  }

  /** Seconds of the LM head for `n` sampled requests. */
  private head(n: number): number {
    const c = this.c;
    const g = this.curves.gemm;
    const lx = Math.log2(n > 1 ? n : 1);
    const mem = this.lmHeadBytes / (this.memBw * interpolate(g, g.mem, lx, 0) * c.memEfficiency);
    const cmp =
      (this.lmHeadFlopsPerSample * n) /
      (this.peakFlops * interpolate(g, g.compute, lx, 0) * c.computeEfficiency);
    return ((mem > cmp ? mem : cmp) + g.launchS * c.kernelLaunchScale) * this.servingFactor;
  }

  /** Seconds of attention: one call per layer over the prefill chunks and one over the decodes. */
  private attention(w: StepWork): number {
    const bw = this.attnBw;
    const peak = this.attnPeak;
    let t = 0;
    if (w.prefillReqs > 0) {
      // Effective prompt length: a fresh prompt of s tokens has s(s+1)/2 pairs.
      const bytes =
        this.kvBytesPerTokenPerGpu * (w.prefillKvRead + w.prefillTokens) +
        this.qoBytesPerToken * w.prefillTokens;
      t +=
        this.ctx.timeForCount(
          w.prefillReqs,
          this.headsPerGpu,
          (2 * w.prefillPairs) / w.prefillTokens,
          bytes,
          this.attnFlopsPerPair * w.prefillPairs,
          bw,
          peak,
        ) + this.ctxLaunchS;
    }
    const decodes = w.numReqs - w.prefillReqs;
    if (decodes > 0) {
      const kv = w.kvReadTokens - w.prefillKvRead + decodes;
      t +=
        this.gen.timeForCount(
          decodes,
          this.kvHeadsPerGpu,
          kv / decodes,
          this.kvBytesPerTokenPerGpu * kv + this.qoBytesPerToken * decodes,
          this.attnFlopsPerPair * kv,
          bw,
          peak,
        ) + this.genLaunchS;
    }
    return t * this.servingFactor;
  }

  /**
   * One batch's times under pipeline parallelism over `stages` stages (see PipelineStepTimes). The
   * parts add up to stepTime(w) plus the transfers: hostS + stages x stageS + lastS = stepTime(w).
   */
  pipelineStep(w: StepWork, stages: number, out: PipelineStepTimes): PipelineStepTimes {
    const c = this.c;
    const m = w.newTokens;
    const n = w.numSampled;
    out.hostS =
      c.stepOverheadS + w.numReqs * this.perRequestS + w.prefillReqs * this.perChunkS + m * this.perTokenS;
    out.stageS = (this.linear(m) + this.attention(w) + this.numLayers * c.layerOverheadS) / stages;
    out.lastS =
      (n > 0 ? this.head(n) : 0) +
      n * this.perSampleS +
      (w.extraFlops > 0 ? this.flopsTime(w.extraFlops) : 0);
    const bytes = m * this.stageActBytesPerToken;
    const l = this.stageLinks;
    out.intraNodeXferS = l ? l.intraNodeLatencyS + bytes / (l.intraNodeGBps * 1e9) : 0;
    out.interNodeXferS = l ? l.interNodeLatencyS + bytes / (l.interNodeGBps * 1e9) : 0;
    return out;
  }

  /** Seconds one step takes. */
  stepTime(w: StepWork): number {
    if (w.numReqs === 0) return 0;
    const m = w.newTokens;
    const lin = this.linearByTokens;
    let linear: number;
    if (m < lin.length) {
      linear = lin[m];
      if (linear < 0) linear = lin[m] = this.linear(m);
    } else linear = this.linear(m);
    const n = w.numSampled;
    let head = 0;
    if (n > 0) {
      const hb = this.headBySamples;
      if (n < hb.length) {
        head = hb[n];
        if (head < 0) head = hb[n] = this.head(n);
      } else head = this.head(n);
    }
    return (
      this.fixedS +
      w.numReqs * this.perRequestS +
      w.prefillReqs * this.perChunkS +
      n * this.perSampleS +
      m * this.perTokenS +
      linear +
      head +
      this.attention(w) +
      (w.extraFlops > 0 ? this.flopsTime(w.extraFlops) : 0) +
      (this.sharedMoe ? this.moeTime(m + w.peerTokens) : 0)
    );
  }
}
