/**
 * The shapes that cross a wire: the simulation result, what the simulator computes for a
 * projection (charts, sweeps, verdicts) and the stored projection and capacity answers. Declared
 * once, here, because libs/sim produces them and the apps and the browser dashboard read them
 * (libs/contracts re-exports them for the apps; the dashboard imports them type-only).
 */
import type { AccuracyEntry, FusionProfile } from './fusion-profile';

/** Latency bounds of a spec's `slo` section, in ms, per quantile. */
export interface SloSpec {
  ttftMs?: { p99?: number; p90?: number; p50?: number };
  tpotMs?: { p99?: number; p90?: number; p50?: number };
  e2elMs?: { p99?: number; p90?: number; p50?: number };
}

/** The simulation result contract: benchmark_serving's metric names plus kvplan's own fields. */
export type LatencyMetric =
  `${'mean' | 'median' | 'std' | 'p90' | 'p99'}_${'ttft' | 'tpot' | 'itl' | 'e2el'}_ms`;

export type SimulationResult = SimulationResultBase & { [K in LatencyMetric]: number };

export interface SimulationResultBase {
  duration: number;
  completed: number;
  failed: number;
  total_input_tokens: number;
  total_output_tokens: number;
  request_throughput: number;
  request_goodput?: number;
  output_throughput: number;
  total_token_throughput: number;
  preemptions: number;
  kv_blocks_total: number;
  kv_peak_used_blocks: number;
  kv_mean_used_fraction: number;
  mean_batch_size: number;
  cost_per_million_output_tokens_usd?: number;
  fusion: { blocks_freed: number; fused_fraction: number; overhead_s: number } | null;
  /** CPU KV offload: pool size, blocks stored, prompt tokens found there, loads and their PCIe time. */
  kv_offload?: {
    cpu_blocks: number;
    stored_blocks: number;
    cpu_hit_tokens: number;
    loads: number;
    load_s: number;
  };
  /** Pipeline parallelism: stages, share of stage time idle (bubbles), inter-stage transfer seconds. */
  pipeline?: { stages: number; bubble_fraction: number; transfer_s: number };
  timeseries?: {
    resolution_s: number;
    t: number[];
    kv_used_blocks: number[];
    running: number[];
    waiting: number[];
  };
  /** How sure the projection is (libs/sim's interval policy). */
  intervals: ResultIntervals;
  meta: {
    kvplan_version: string;
    seed: number;
    calibration_profile: string;
    /** Where the GPU's kernel curves come from. */
    calibrated: CalibrationSource;
    /** The GPU's serving factor on the kernel-curve part of the step time (1: none for this GPU). */
    serving_factor: number;
    /** Where that factor comes from ("serving factor 1.120 fitted on 1 run", or none). */
    serving_calibrated: string;
    replicas: number;
    gpus: number;
    /** Data-parallel ranks per replica, when more than one. */
    data_parallel?: number;
    /** What the MoE layers cost, when data-parallel ranks share them or experts are spread. */
    moe?: MoeSummary;
  };
}

/** A result's MoE layers: how experts are spread and what their collectives and imbalance cost. */
export interface MoeSummary {
  expert_parallel: boolean;
  /** GPUs the expert layers span: tensorParallel x dataParallel. */
  expert_ranks: number;
  /** Whole experts per GPU under expert parallelism; every expert (sliced) without. */
  experts_per_rank: number;
  /** The spec's moe.loadImbalance (1 without expert parallelism: slices are even). */
  load_imbalance: number;
  /** Ranks other than its own a token's hidden state is sent to (dispatch, and back at combine). */
  dispatch_remote_ranks_per_token: number;
  /** Tokens per lockstep step over the data-parallel group. */
  mean_tokens_per_step: number;
  /** MoE layers' share (experts and their collectives) of the group's step time. */
  moe_share_of_step_time: number;
  /** Milliseconds a step at the mean tokens spends on the imbalance, against a perfect balance. */
  imbalance_ms_per_step: number;
}

/** How a GPU's kernel times are known: measured on it, scaled from a sibling, or neither. */
export type CalibrationSource = 'kernel-measured' | `scaled from ${string}` | 'datasheet only';

/** A result's intervals: level, calibration source, and [low, high] per latency metric (ms). */
export interface ResultIntervals {
  level: number;
  calibrated: CalibrationSource;
  metrics: Record<string, [number, number]>;
}

/** A run's metrics as stored with a projection or a capacity point: without the time series. */
export type RunMetrics = Omit<SimulationResult, 'timeseries'>;

export interface LatencyCdf {
  /** Values at the CDF levels 0, 0.01, ..., 1, ms; empty when no request completed. */
  ttftMs: number[];
  tpotMs: number[];
  e2elMs: number[];
}

export interface KvSeries {
  t: number[];
  used: number[];
  /** Blocks of every replica together. */
  total: number;
}

export interface RatePoint {
  rate: number;
  requestThroughput: number;
  outputThroughput: number;
  p99TtftMs: number;
  p99TpotMs: number;
  p99E2elMs: number;
  /** Every request completed and the queue did not grow without bound. */
  stable: boolean;
  /** Stable and within every SLO term (null without an SLO). */
  meetsSlo: boolean | null;
}

export interface RateSweep {
  /** The workload's own mean request rate. */
  offeredRate: number;
  /** Requests per point (a stride sample of the workload). */
  requests: number;
  points: RatePoint[];
  /** Highest rate meeting the SLO (bisected between the sweep points), null without an SLO or when none does. */
  maxRateMeetingSlo: number | null;
}

export interface ThresholdPoint {
  threshold: number;
  outputThroughput: number;
  p99TtftMs: number;
  /** Share of KV blocks fusion freed. */
  fusedFraction: number;
  /**
   * The fusion profile's accuracy at this threshold: measured there, or interpolated linearly
   * between the two measured thresholds around it; null outside the measured range.
   */
  accuracy: number | null;
  accuracyInterpolated: boolean;
}

export interface ThresholdSweep {
  chosen: number;
  /** Throughputs are at capacity: the sample arrives as one burst. */
  saturated: true;
  /** The same burst without fusion. */
  unfusedOutputThroughput: number;
  /** Name of the accuracy metric when the profile measured one, else null (threshold is the proxy). */
  accuracyMetric: string | null;
  /** The metric's direction (the metric registry); null without a metric. */
  accuracyHigherIsBetter: boolean | null;
  points: ThresholdPoint[];
  /** Thresholds on the Pareto front of throughput and accuracy (or threshold), ascending throughput. */
  front: number[];
}

/** The fusion profile's per-layer model, and the batch it is evaluated at, for the heatmap. */
export interface ProfileForCharts {
  source: string;
  numLayers: number;
  fusedLayers: number[];
  rateDistortion: FusionProfile['rateDistortion'];
  /** Measured points at the profile's largest batch (or window), when it has any. */
  points: FusionProfile['points'];
  threshold: number;
  /** Mean running batch of the fused run (rounded), and mean full blocks per prompt. */
  batchSize: number;
  blocksPerSequence: number;
}

export interface RunCharts {
  latencyCdf: LatencyCdf;
  kvBlocks: KvSeries;
  rateSweep: RateSweep;
  thresholdSweep: ThresholdSweep | null;
  fusionProfile: ProfileForCharts | null;
}

/** The fusion a run simulated, as resolved and validated once from the spec. */
export interface RunFusion {
  mode: 'bff' | 'cff';
  threshold: number;
  scope: 'global' | 'tenant';
  /** Where the profile came from (`parametric` when none was given). */
  profileSource: FusionProfile['source'];
  accuracy: AccuracyEntry[] | null;
}

/** One simulated run of a projection or capacity point: what a simulation thread hands back. */
export interface ProjectionRun {
  result: RunMetrics;
  charts: RunCharts | null;
  fusion: RunFusion | null;
}

export interface Pair<T> {
  withoutFusion: T | null;
  withFusion: T | null;
}

export interface ProjectionCharts {
  version: 1;
  latencyCdf: Pair<LatencyCdf>;
  kvBlocks: Pair<KvSeries>;
  rateSweep: Pair<RateSweep>;
  thresholdSweep: ThresholdSweep | null;
  fusionProfile: ProfileForCharts | null;
}

export interface KvMemory {
  blocksTotal: number | null;
  peakUsedBlocks: number | null;
  meanUsedFraction: number | null;
}

/** The fusion of a projection: the run's, plus the stored profile it used. */
export interface FusionInfo extends RunFusion {
  /** The stored fusion profile used, or null for the parametric one. */
  fusionProfileId: string | null;
}

/** Where an accuracy figure of a projection comes from, and the figure at the chosen threshold. */
export type ProjectionAccuracy =
  { source: 'none' } | ({ source: 'measured' | 'proxy'; higherIsBetter: boolean | null } & AccuracyEntry);

/** A projection's stored result: both runs, KV memory, throughput gain and accuracy with its source. */
export interface ProjectionResult {
  withoutFusion: RunMetrics;
  withFusion: RunMetrics | null;
  kvMemory: Pair<KvMemory>;
  throughputGain: number | null;
  fusion: FusionInfo | null;
  accuracy: ProjectionAccuracy;
  charts?: ProjectionCharts;
}

/** One point of a capacity sweep: a rate multiple, a replica count, or a fusion threshold (null = off). */
export interface CapacityPoint {
  rateScale?: number;
  replicas?: number;
  threshold?: number | null;
  /**
   * An answer plan's configuration: the deployment whose section (`deployment`, its documents
   * inlined) replaces the base spec's, its GPU for display, a tensor-parallel degree and the
   * stored fusion profile for that deployment (null: the parametric one).
   */
  deploymentId?: string;
  deploymentName?: string;
  deployment?: Record<string, unknown>;
  gpu?: string;
  tensorParallel?: number;
  fusionProfileId?: string | null;
  /** The rate an answer plan serves (absent: the workload's own mean rate). */
  targetRate?: number;
  /** Why this configuration cannot be deployed at all (its row is infeasible without a simulation). */
  unfit?: string;
}

export const CAPACITY_SUMMARY_KEYS = [
  'request_throughput',
  'request_goodput',
  'output_throughput',
  'p99_ttft_ms',
  'p99_tpot_ms',
  'p99_e2el_ms',
  'kv_peak_used_blocks',
  'preemptions',
  'completed',
  'failed',
] as const;

/** A capacity point with its verdict and summary metrics. */
export type CapacityRow = CapacityPoint & {
  index: number;
  meetsSlo: boolean;
} & { [K in (typeof CAPACITY_SUMMARY_KEYS)[number]]: number | null };

export type CapacityAnswer =
  | { mode: 'max-rate'; answer: CapacityRow | null; points: CapacityRow[] }
  | { mode: 'min-gpus'; answer: (CapacityRow & { gpus: number }) | null; points: CapacityRow[] }
  | { mode: 'pareto'; baseline: CapacityRow | null; front: CapacityRow[]; points: CapacityRow[] }
  | PlanAnswer;

/** One SLO term at a configuration's highest rate: `p99 TTFT 812 ms of 2000`. */
export interface AnswerSloTerm {
  metric: string;
  label: string;
  value: number | null;
  limit: number;
}

/** One SLO term at an answer's recommended size, judged with its uncertainty. */
export interface AnswerSloConfidence {
  metric: string;
  limitMs: number;
  projectedMs: number;
  /** Probability that the real value meets the limit. */
  probability: number;
  text: string;
}

/** An accuracy figure of a fusion threshold, named, with its direction and interval. */
export interface AnswerAccuracy {
  metric: string;
  /** The metric registry's label, or the name when it is not registered. */
  label: string;
  value: number;
  interval: [number, number] | null;
  higherIsBetter: boolean | null;
  /** Measured on a model, or a proxy (synthetic or KV-sample attention metrics). */
  source: 'measured' | 'proxy';
}

/**
 * One configuration of an answer plan (GPU type x TP x fusion threshold) and what it takes to
 * serve the target rate: the fewest replicas, their price, the highest rate one replica serves
 * within every SLO term, what stops a higher one, the KV peak there and the accuracy cost of its
 * fusion. An infeasible configuration carries no rate, only its reason.
 */
export interface AnswerRow {
  index: number;
  deploymentId: string;
  deploymentName: string;
  /** The rate to serve, requests/s (null for a configuration that could not even be resolved). */
  targetRate: number | null;
  gpu: string;
  gpuName: string;
  tensorParallel: number;
  /** Pipeline stages per replica (GPUs per replica: tensorParallel x pipelineParallel). */
  pipelineParallel: number;
  /** Fusion threshold (null: no fusion) and mode. */
  threshold: number | null;
  fusionMode: 'bff' | 'cff' | null;
  /** Meets the SLO at some rate (false: `limitedBy` says why, and no rate is given). */
  feasible: boolean;
  limitedBy: string;
  /** Highest rate one replica serves within every SLO term (null when infeasible). */
  maxRatePerReplica: number | null;
  /** Each SLO term at that rate. */
  sloAtMax: AnswerSloTerm[];
  /** Fewest replicas (and GPUs) for the target rate; null when infeasible or not reachable. */
  replicas: number | null;
  gpus: number | null;
  /**
   * Each SLO term at that size and the target rate, with the probability it is met by the one
   * interval policy ("meets p99 TTFT 2 s with ~90 % confidence"); empty without a size.
   */
  sloAtSize?: AnswerSloConfidence[];
  /** gpus x the deployment's price per GPU-hour; null without a price. */
  usdPerHour: number | null;
  costPerMillionOutputTokensUsd: number | null;
  costPerMillionTotalTokensUsd: number | null;
  /** KV blocks in use at the peak of one replica at its highest rate, of its total. */
  kvPeakUsedBlocks: number | null;
  kvBlocksTotal: number | null;
  /** The fusion profile's accuracy at this threshold, per metric (empty: none measured). */
  accuracy: AnswerAccuracy[];
  /** Where the accuracy comes from: a stored profile's source, or `parametric` (none). */
  profileSource: string | null;
  calibrated: CalibrationSource;
  /**
   * On the front of $/h for the rate, $ per million output tokens and fusion threshold (core's
   * dominance); a configuration that does not serve the rate never is.
   */
  pareto: boolean;
}

/** An answer plan's result: every configuration, the cheapest ones and the sentence that answers. */
export interface PlanAnswer {
  mode: 'answer';
  /** The rate to serve (requests/s): the workload's own mean rate unless the plan gave one. */
  targetRate: number | null;
  rows: AnswerRow[];
  /** Index (into rows) of the cheapest feasible configuration without fusion, or null. */
  best: number | null;
  /** Per fusion threshold, the index of its cheapest feasible configuration. */
  bestFused: Array<{ threshold: number; index: number }>;
  sentence: string;
}

/** One tenant's or prefix group's share of a workload. */
export interface BreakdownRow {
  /** The tenant or group name; `(none)` for requests without one. */
  name: string;
  requests: number;
  inputTokens: number;
  outputTokens: number;
  /** (input + output tokens) of the row over those of the whole workload. */
  tokenShare: number;
  /** Prefix tokens a perfect prefix cache could serve: every request's after its group's first. */
  reusablePrefixTokens: number;
  /** reusablePrefixTokens over the row's input tokens (the prefix-hit potential). */
  prefixHitPotential: number;
}

export interface WorkloadBreakdown {
  tenants: BreakdownRow[];
  prefixGroups: BreakdownRow[];
  /** Rows left out past `limit` (the largest by requests are kept), per breakdown. */
  omitted: { tenants: number; prefixGroups: number };
  /** The whole workload's prefix-hit potential. */
  prefixHitPotential: number;
}
