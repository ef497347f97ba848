import { kernelCalibrationFor } from '../hardware/kernel-curves';
import { projectionInterval, type ProjectionInterval } from '../calibration/interval';
import { gpusPerReplica } from '../model/memory';
import type { ResolvedSpec, SloSpec } from '../types';
import {
  probeRate,
  searchMaxRate,
  searchMinReplicas,
  sloChecks,
  tile,
  type MaxRateResult,
  type Probe,
  type SearchOptions,
  type SloCheck,
  type SweepPoint,
} from './search';

/** Largest workload a too-short one is extended to by default (by repeating it). */
export const DEFAULT_MAX_EXTENDED_REQUESTS = 50_000;

export interface CapacityOptions extends SearchOptions {
  /** Find the fewest replicas for this many requests per second. */
  targetRate?: number;
  maxReplicas?: number;
  /**
   * A workload too short to measure the rates in question is repeated back to back up to this
   * many requests (DEFAULT_MAX_EXTENDED_REQUESTS); 0 never extends, and the search then reports
   * how many requests it would need instead of a rate it cannot vouch for.
   */
  maxExtendedRequests?: number;
}

/** The highest rate, on a workload long enough to measure it. */
export interface MeasuredMaxRate {
  search: MaxRateResult;
  /** The one-replica spec the rate was measured on (its workload possibly repeated). */
  spec: ResolvedSpec;
  /** How many times the workload was repeated (1: as given). */
  copies: number;
}

/**
 * searchMaxRate, repeating a workload that is too short for the rates it reaches until it is long
 * enough (or would pass maxExtendedRequests: then `search.tooShort` is left set for the caller
 * to refuse). Each round starts from the last round's answer.
 */
export function searchMaxRateMeasured(
  spec: ResolvedSpec,
  slo: SloSpec,
  opts: CapacityOptions = {},
): MeasuredMaxRate {
  const cap = opts.maxExtendedRequests ?? DEFAULT_MAX_EXTENDED_REQUESTS;
  const n = spec.workload.n;
  let copies = 1;
  let s: ResolvedSpec = { ...spec, replicas: 1 };
  for (;;) {
    const search = searchMaxRate(s, slo, opts);
    const needed = search.tooShort?.requestsNeeded;
    if (needed === undefined || needed > cap || n <= 0) return { search, spec: s, copies };
    copies = Math.max(copies * 2, Math.ceil(needed / n));
    s = {
      ...spec,
      replicas: 1,
      workload: tile(spec.workload, copies),
    };
    if (search.maxRate > 0) opts = { ...opts, start: search.maxRate };
  }
}

/** Everything the capacity answer for one configuration says. */
export interface CapacityEvaluation {
  point: SweepPoint;
  measured: MeasuredMaxRate;
  /** Fewest replicas for the target rate (null without a target, or when none is enough). */
  replicas: { replicas: number; gpus: number; probe: Probe } | null;
}

/** Highest rate per replica, fewest replicas for a target, costs and what limits it, for one configuration. */
export function evaluateCapacity(
  spec: ResolvedSpec,
  slo: SloSpec,
  label: string,
  opts: CapacityOptions = {},
): CapacityEvaluation {
  const measured = searchMaxRateMeasured(spec, slo, opts);
  const max = measured.search;
  const trusted = max.tooShort === null;
  const replicas =
    opts.targetRate !== undefined && max.maxRate > 0 && trusted
      ? searchMinReplicas(measured.spec, opts.targetRate, slo, opts)
      : null;
  const at = max.atMax?.result;
  const gpus = gpusPerReplica(spec);
  const costOut = at?.cost_per_million_output_tokens_usd ?? null;
  return {
    measured,
    replicas,
    point: {
      label,
      gpu: spec.gpu.id,
      tensorParallel: spec.tensorParallel,
      pipelineParallel: spec.pipelineParallel ?? 1,
      kvOffloadGiB: spec.kvOffload?.cpuGiB ?? null,
      dataParallel: spec.dataParallel,
      expertParallel: spec.expertParallel,
      maxNumSeqs: spec.engine.maxNumSeqs,
      maxNumBatchedTokens: spec.engine.maxNumBatchedTokens,
      fusionThreshold: spec.fusion ? spec.fusion.threshold : null,
      maxRatePerReplica: max.maxRate,
      maxRatePerGpu: max.maxRate / gpus,
      outputTokensPerSecondPerGpu: at ? at.output_throughput / gpus : 0,
      costPerMillionOutputTokensUsd: costOut,
      costPerMillionTotalTokensUsd:
        costOut !== null && at && at.total_token_throughput > 0
          ? (costOut * at.output_throughput) / at.total_token_throughput
          : null,
      feasible: !max.infeasible && max.maxRate > 0,
      limitedBy: limitedBy(max),
      replicasForTarget: replicas?.replicas ?? null,
      gpusForTarget: replicas?.gpus ?? null,
      pareto: false,
      calibrated: kernelCalibrationFor(spec.gpu).source,
    },
  };
}

/** One line on what stops a higher rate. */
export function limitedBy(max: MaxRateResult): string {
  if (max.infeasible && max.zeroLoad)
    return `infeasible: ${max.zeroLoad.violations.join('; ')} at zero load (${max.zeroLoad.rate.toPrecision(2)} req/s)`;
  if (max.tooShort)
    return `workload too short to measure ${max.tooShort.rate.toPrecision(3)} req/s (needs ${max.tooShort.requestsNeeded} requests)`;
  if (max.firstFailing) return max.firstFailing.violations.join('; ');
  return `no failing rate found in ${max.probes.length} probes`;
}

/** The recommended size simulated again, once per seed: what the answer rests on. */
export interface Verification {
  replicas: number;
  gpus: number;
  rate: number;
  /** Every seed met the SLOs. */
  meets: boolean;
  seeds: number[];
  /** Each SLO term checked on the mean over seeds. */
  slo: SloCheck[];
  /**
   * Each metric's mean over seeds with its 90 % interval from the one interval policy
   * (projectionInterval: this GPU's calibration residuals combined with the spread over seeds).
   */
  metrics: Record<string, ProjectionInterval>;
  /** Each metric's value per seed, in the order of `seeds`. */
  seedValues: Record<string, number[]>;
  violations: string[];
}

const VERIFIED_METRICS = [
  'request_throughput',
  'output_throughput',
  'mean_ttft_ms',
  'p99_ttft_ms',
  'mean_tpot_ms',
  'p99_tpot_ms',
  'p99_e2el_ms',
  'preemptions',
] as const;

/**
 * Simulates `replicas` replicas at `rate` on each of `specs` (one per seed, each with its own
 * workload), each replica seeing `copies` times the workload as in the search.
 */
export function verifyReplicas(
  specs: ResolvedSpec[],
  replicas: number,
  rate: number,
  slo: SloSpec,
  copies: number,
  opts: SearchOptions = {},
): Verification {
  const probes = specs.map((s) =>
    probeRate({ ...s, replicas, workload: tile(s.workload, copies * replicas) }, rate, slo, opts),
  );
  const calibrated = probes[0].result.meta.calibrated;
  const metrics: Record<string, ProjectionInterval> = {};
  const seedValues: Record<string, number[]> = {};
  const means: Record<string, number> = {};
  for (const m of [...VERIFIED_METRICS, ...sloChecks({}, slo).map((c) => c.metric)]) {
    const values = probes.map((p) => (p.result as unknown as Record<string, number>)[m] ?? NaN);
    const iv = projectionInterval(m, calibrated, values[0], { seedValues: values });
    metrics[m] = iv;
    seedValues[m] = values;
    means[m] = iv.value;
  }
  return {
    replicas,
    gpus: replicas * gpusPerReplica(specs[0]),
    rate,
    meets: probes.every((p) => p.meets),
    seeds: specs.map((s) => s.seed),
    slo: sloChecks(means, slo),
    metrics,
    seedValues,
    violations: [...new Set(probes.flatMap((p) => p.violations))],
  };
}
