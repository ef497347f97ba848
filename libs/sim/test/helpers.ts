import { defaultTopology } from '../src/hardware/topology';
import { DEFAULT_TIME_MODEL } from '../src/time/profiles';
import type { GpuSpec, ModelArch, ResolvedSpec, TimeModelCoefficients, Workload } from '../src/types';

/** Llama-3.1-8B's architecture, inline so engine tests do not depend on the preset tables. */
export const LLAMA_8B: ModelArch = {
  id: 'test/llama-8b',
  numLayers: 32,
  hiddenSize: 4096,
  numHeads: 32,
  numKvHeads: 8,
  headDim: 128,
  intermediateSize: 14336,
  vocabSize: 128256,
  tiedEmbeddings: false,
  numExperts: 0,
  expertsPerToken: 0,
  moeIntermediateSize: 14336,
  maxPositionEmbeddings: 131072,
  dtype: 'bfloat16',
};

export const H100: GpuSpec = {
  id: 'test-h100',
  name: 'H100 SXM',
  memoryGiB: 80,
  memoryBandwidthGBps: 3350,
  bf16Tflops: 989,
  fp8Tflops: 1979,
  interconnectGBps: 450,
  fabric: 'nvlink4',
  gpusPerNode: 8,
};

/** A time model where every step takes exactly `stepS` seconds: for hand-computed schedules. */
export const FIXED_STEP = (stepS: number): TimeModelCoefficients => ({
  ...DEFAULT_TIME_MODEL,
  name: 'fixed-step',
  memEfficiency: Infinity,
  computeEfficiency: Infinity,
  attentionEfficiency: Infinity,
  kernelLaunchScale: 0,
  stepOverheadS: stepS,
  layerOverheadS: 0,
  requestOverheadS: 0,
  prefillChunkOverheadS: 0,
  sampleOverheadS: 0,
  tokenOverheadS: 0,
  allReduceLatencyS: 0,
  frontendOverheadS: 0,
});

export interface Row {
  t: number;
  in: number;
  out: number;
  group?: number;
  prefix?: number;
  tenant?: number;
}

export function workloadOf(rows: Row[]): Workload {
  const n = rows.length;
  return {
    n,
    arrivalS: Float64Array.from(rows.map((r) => r.t)),
    inputTokens: Int32Array.from(rows.map((r) => r.in)),
    outputTokens: Int32Array.from(rows.map((r) => r.out)),
    prefixGroup: Int32Array.from(rows.map((r) => r.group ?? -1)),
    prefixTokens: Int32Array.from(rows.map((r) => r.prefix ?? 0)),
    tenant: Int32Array.from(rows.map((r) => r.tenant ?? -1)),
    tenantNames: [],
    prefixGroupNames: [],
  };
}

export type SpecOverrides = Partial<Omit<ResolvedSpec, 'engine'>> & {
  engine?: Partial<ResolvedSpec['engine']>;
};

export function specOf(workload: Workload, over: SpecOverrides = {}): ResolvedSpec {
  const { engine, ...rest } = over;
  return {
    model: LLAMA_8B,
    gpu: H100,
    topology: defaultTopology(H100),
    dataParallel: 1,
    expertParallel: false,
    moe: { loadImbalance: 1.1 },
    tensorParallel: 1,
    replicas: 1,
    router: 'least-loaded',
    workload,
    fusion: null,
    slo: null,
    cost: null,
    seed: 1,
    timeModel: DEFAULT_TIME_MODEL,
    timeseriesResolutionS: null,
    ...rest,
    engine: {
      blockSize: 16,
      maxNumSeqs: 256,
      maxNumBatchedTokens: 2048,
      maxModelLen: 8192,
      gpuMemoryUtilization: 0.9,
      numGpuBlocks: 10000,
      enablePrefixCaching: true,
      kvCacheDtype: 'auto',
      weightDtype: 'bfloat16',
      ...engine,
    },
  };
}

/** A raw spec (as a file would hold it): Llama-2-70B on four H100s, five short requests. */
export const LLAMA_70B_TP4_RAW = {
  model: 'meta-llama/Llama-2-70b-hf',
  gpu: 'h100-sxm',
  tensorParallel: 4,
  engine: { maxModelLen: 4096 },
  workload: {
    arrival: { rate: 1 },
    numRequests: 5,
    inputTokens: { fixed: 100 },
    outputTokens: { fixed: 10 },
  },
};
