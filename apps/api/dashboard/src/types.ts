/**
 * Shapes of what the API returns, as far as the dashboard reads them. The results, charts and
 * profiles are the libraries' own types (libs/contracts), imported type-only: nothing of them is
 * bundled, and a change there fails the dashboard's typecheck instead of drifting.
 */
import type {
  CapacityAnswer,
  CapacityMode,
  CapacityPoint,
  FusionProfile,
  JobBody as Job,
  JobStatus,
  ProjectionResult,
  SloSpec,
  WorkloadBreakdown,
} from '@kvplan/contracts';

export type {
  AnswerRow,
  BreakdownRow,
  CapacityRow,
  JobBody as Job,
  PlanAnswer,
  JobStatus,
  KvSeries,
  LatencyCdf,
  Pair,
  ProfileForCharts as ChartProfile,
  ProjectionCharts,
  RatePoint,
  RateSweep,
  SloSpec as Slo,
  ThresholdPoint,
  ThresholdSweep,
} from '@kvplan/contracts';

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

/** The part of a kvplan-fusion-profile/1 the heatmap needs. */
export type ProfileModel = Pick<FusionProfile, 'numLayers' | 'fusedLayers' | 'rateDistortion'> &
  Partial<Pick<FusionProfile, 'points'>>;

export type Metrics = Record<string, number | null | undefined>;

export interface Projection {
  id: string;
  workloadProfileId: string | null;
  deploymentId: string | null;
  fusionConfigId: string | null;
  status: JobStatus | null;
  job: Job | null;
  spec: Record<string, unknown> & { slo?: SloSpec; fusion?: { mode: string; threshold: number } };
  result: ProjectionResult | null;
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

export interface CapacityPlan {
  id: string;
  mode: CapacityMode;
  status: JobStatus | null;
  job: Job | null;
  points: CapacityPoint[];
  slo: SloSpec | null;
  result: CapacityAnswer | null;
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
  /** Absent from answers of an api before breakdowns (libs/sim's workloadBreakdown). */
  breakdown?: WorkloadBreakdown;
}

export interface FusionProfileRow {
  id: string;
  createdAt: string;
  workloadProfileId: string;
  fusionConfigId: string;
  workloadProfileName: string | null;
  fusionConfigName: string | null;
  jobId: string;
  status: JobStatus;
  progress: number;
  error: string | null;
  source: string | null;
  profile: FusionProfile | null;
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
