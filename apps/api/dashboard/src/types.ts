/** Shapes of what the API returns, as far as the dashboard reads them. */

export type JobStatus = 'queued' | 'running' | 'succeeded' | 'failed';

export interface Job {
  id: string;
  kind: string;
  status: JobStatus;
  progress: number;
  attempts: number;
  error: string | null;
  createdAt: string;
  startedAt: string | null;
  finishedAt: string | null;
  subjectId?: string;
}

export interface Page<T> {
  items: T[];
  total: number;
  limit: number;
  offset: number;
}

export interface Named {
  id: string;
  name: string;
  description: string | null;
  createdAt: string;
}

export interface RatePoint {
  rate: number;
  requestThroughput: number;
  outputThroughput: number;
  p99TtftMs: number;
  p99TpotMs: number;
  p99E2elMs: number;
  stable: boolean;
  meetsSlo: boolean | null;
}

export interface RateSweep {
  offeredRate: number;
  requests: number;
  points: RatePoint[];
  maxRateMeetingSlo: number | null;
}

export interface LatencyCdf {
  ttftMs: number[];
  tpotMs: number[];
  e2elMs: number[];
}

export interface KvSeries {
  t: number[];
  used: number[];
  total: number;
}

export interface ThresholdPoint {
  threshold: number;
  outputThroughput: number;
  p99TtftMs: number;
  fusedFraction: number;
  accuracy: number | null;
  accuracyInterpolated?: boolean;
}

export interface ThresholdSweep {
  chosen: number;
  saturated?: boolean;
  unfusedOutputThroughput: number;
  accuracyMetric: string | null;
  points: ThresholdPoint[];
}

export interface LayerFit {
  layer: number;
  pMax: number;
  t0: number;
  width: number;
  cap?: number;
}

/** The part of a kvplan-fusion-profile/1 the heatmap needs. */
export interface ProfileModel {
  numLayers: number;
  fusedLayers: number[];
  rateDistortion: { model: string; layers: LayerFit[] } | null;
  points?: Array<{ threshold: number; batchSize?: number; window?: number; survivingFraction: number[] }>;
}

export interface ChartProfile extends ProfileModel {
  source: string;
  threshold: number;
  batchSize: number;
  blocksPerSequence: number;
}

export interface Pair<T> {
  withoutFusion: T | null;
  withFusion: T | null;
}

export interface ProjectionCharts {
  version: number;
  latencyCdf: Pair<LatencyCdf>;
  kvBlocks: Pair<KvSeries>;
  rateSweep: Pair<RateSweep>;
  thresholdSweep: ThresholdSweep | null;
  fusionProfile: ChartProfile | null;
}

export type Metrics = Record<string, number | null | undefined>;

export interface Projection {
  id: string;
  workloadProfileId: string | null;
  deploymentId: string | null;
  fusionConfigId: string | null;
  status: JobStatus | null;
  job: Job | null;
  spec: Record<string, unknown> & { slo?: Slo; fusion?: { mode: string; threshold: number } };
  result: {
    withoutFusion: Metrics;
    withFusion: Metrics | null;
    throughputGain: number | null;
    accuracy: { source: string; metric?: string; value?: number };
    fusion: { mode: string; threshold: number; scope: string; profileSource: string } | null;
    charts?: ProjectionCharts;
  } | null;
  createdAt: string;
  resultAt: string | null;
}

export interface ProjectionSummary {
  id: string;
  createdAt: string;
  workloadProfileName: string | null;
  deploymentName: string | null;
  fusionConfigName: string | null;
  jobId: string;
  status: JobStatus;
  progress: number;
  error: string | null;
  outputThroughput: number | null;
  outputThroughputFused: number | null;
  throughputGain: number | null;
  p99TtftMs: number | null;
  p99TtftMsFused: number | null;
}

export type Slo = Partial<
  Record<'ttftMs' | 'tpotMs' | 'e2elMs', Partial<Record<'p50' | 'p90' | 'p99', number>>>
>;

export interface CapacityPlan {
  id: string;
  mode: 'max-rate' | 'min-gpus' | 'pareto';
  status: JobStatus | null;
  job: Job | null;
  points: Array<Record<string, unknown>>;
  slo: Slo | null;
  result: {
    mode: string;
    answer?: Record<string, unknown> | null;
    baseline?: Record<string, unknown> | null;
    front?: Array<Record<string, unknown>>;
    points: Array<Record<string, unknown> & { meetsSlo: boolean }>;
  } | null;
  createdAt: string;
}

export interface Histogram {
  edges: number[];
  width: number;
  counts: number[];
}

export interface WorkloadHistograms {
  requests: number;
  durationS: number;
  meanRate: number;
  arrivals: { edges: number[]; width: number; ratePerS: number[] };
  inputTokens: Histogram & { mean: number; p50: number; p99: number };
  outputTokens: Histogram & { mean: number; p50: number; p99: number };
  tenants: string[];
}

export interface FusionProfileRow {
  id: string;
  createdAt: string;
  workloadProfileName: string | null;
  fusionConfigName: string | null;
  jobId: string;
  status: JobStatus;
  progress: number;
  error: string | null;
  source: string | null;
  profile:
    | (ProfileModel & {
        format: string;
        mode: string;
        model: string | null;
        blockSize: number;
        accuracy: Array<{ threshold: number; metric: string; value: number; how: string }> | null;
      })
    | null;
}

export interface WorkerHeartbeat {
  workerId: string;
  hostname: string;
  pid: number;
  queues: string[];
  startedAt: string;
  sentAt: string;
  active: number;
  completed: number;
  failed: number;
}

export interface Overview {
  jobs: Record<JobStatus, number>;
  queues: Record<string, Record<string, number>>;
  workers: WorkerHeartbeat[];
}
