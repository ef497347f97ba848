/**
 * The planner's answer: for each configuration (GPU type x TP x fusion threshold) the fewest
 * replicas that serve the target rate within the SLOs, their price, and what fusion at each
 * threshold buys and costs in accuracy; then the cheapest ones, in one sentence. The same search
 * as `kvplan capacity --target-rate` (evaluateCapacity), one configuration at a time, so a
 * service can fan the configurations out and aggregate them here.
 */
import {
  higherIsBetter,
  metricInfo,
  paretoFront,
  type AnswerAccuracy,
  type AnswerRow,
  type AnswerSloTerm,
  type Objective,
  type PlanAnswer,
  type SloSpec,
} from '@kvplan/core';
import { sloConfidences } from '../calibration/interval';
import type { ResolvedSpec } from '../types';
import { evaluateCapacity, type CapacityEvaluation, type CapacityOptions } from './evaluate';
import { offeredRate, sloChecks } from './search';

/** Which configuration a row is: its index in the plan and the deployment it came from. */
export interface AnswerConfig {
  index: number;
  deploymentId: string;
  deploymentName: string;
}

/** The rate an answer serves: the given one, else the workload's own mean rate. */
export function answerTargetRate(spec: ResolvedSpec, targetRate?: number | null): number {
  return targetRate ?? offeredRate(spec.workload);
}

/** The fusion profile's accuracy at the spec's threshold, every metric named with its direction. */
export function accuracyAtThreshold(spec: ResolvedSpec): AnswerAccuracy[] {
  const f = spec.fusion;
  const profile = f?.profile;
  if (!f || !profile?.accuracy) return [];
  const source = profile.source === 'model' ? 'measured' : 'proxy';
  return profile.accuracy
    .filter((a) => Math.abs(a.threshold - f.threshold) < 1e-9)
    .map((a) => {
      const info = metricInfo(a.metric);
      return {
        metric: a.metric,
        label: info?.label ?? a.metric,
        value: a.value,
        interval: a.interval,
        higherIsBetter: info?.higherIsBetter ?? null,
        source,
      };
    });
}

/**
 * One configuration's row: the highest rate one replica serves within every SLO term (the max
 * rate search, on a workload repeated until it can measure that rate), the fewest replicas for
 * `targetRate`, their price per hour, the KV peak at the highest rate and the fusion's accuracy.
 */
export function answerRow(
  spec: ResolvedSpec,
  slo: SloSpec,
  config: AnswerConfig,
  targetRate: number,
  opts: Omit<CapacityOptions, 'targetRate'> = {},
): AnswerRow {
  const ev = evaluateCapacity(spec, slo, config.deploymentName, { ...opts, targetRate });
  return answerRowOf(spec, slo, config, targetRate, ev, opts.maxReplicas);
}

/** The row of a configuration already evaluated for `targetRate` (evaluateCapacity). */
export function answerRowOf(
  spec: ResolvedSpec,
  slo: SloSpec,
  config: AnswerConfig,
  targetRate: number,
  { point, measured, replicas }: CapacityEvaluation,
  maxReplicas = 256,
): AnswerRow {
  const at = measured.search.atMax?.result ?? null;
  const feasible = point.feasible;
  const gpus = feasible ? (replicas?.gpus ?? null) : null;
  let limitedBy = point.limitedBy;
  if (feasible && !replicas)
    limitedBy = `${targetRate.toPrecision(3)} req/s is not reachable within ${maxReplicas} replicas; ${limitedBy}`;
  const sloAtMax: AnswerSloTerm[] = at
    ? sloChecks(at, slo).map((c) => ({
        metric: c.metric,
        label: c.label,
        value: Number.isNaN(c.value) ? null : c.value,
        limit: c.limit,
      }))
    : [];
  return {
    ...rowBase(spec, config),
    targetRate,
    feasible,
    limitedBy,
    maxRatePerReplica: feasible ? point.maxRatePerReplica : null,
    sloAtMax,
    replicas: feasible ? (replicas?.replicas ?? null) : null,
    gpus,
    sloAtSize:
      feasible && replicas
        ? sloConfidences(replicas.probe.result, slo).map(
            ({ metric, limitMs, projectedMs, probability, text }) => ({
              metric,
              limitMs,
              projectedMs,
              probability,
              text,
            }),
          )
        : [],
    usdPerHour: gpus !== null && spec.cost ? gpus * spec.cost.gpuHourUsd : null,
    costPerMillionOutputTokensUsd: feasible ? point.costPerMillionOutputTokensUsd : null,
    costPerMillionTotalTokensUsd: feasible ? point.costPerMillionTotalTokensUsd : null,
    kvPeakUsedBlocks: at ? at.kv_peak_used_blocks : null,
    kvBlocksTotal: at ? at.kv_blocks_total : null,
    calibrated: point.calibrated ?? 'datasheet only',
    pareto: false,
  };
}

function rowBase(
  spec: ResolvedSpec,
  config: AnswerConfig,
): Pick<
  AnswerRow,
  | 'index'
  | 'deploymentId'
  | 'deploymentName'
  | 'gpu'
  | 'gpuName'
  | 'tensorParallel'
  | 'pipelineParallel'
  | 'threshold'
  | 'fusionMode'
  | 'accuracy'
  | 'profileSource'
> {
  return {
    ...config,
    gpu: spec.gpu.id,
    gpuName: spec.gpu.name,
    tensorParallel: spec.tensorParallel,
    pipelineParallel: spec.pipelineParallel ?? 1,
    threshold: spec.fusion ? spec.fusion.threshold : null,
    fusionMode: spec.fusion ? spec.fusion.mode : null,
    accuracy: accuracyAtThreshold(spec),
    profileSource: spec.fusion ? (spec.fusion.profile?.source ?? 'parametric') : null,
  };
}

/** The row of a configuration that cannot be deployed at all (the model does not fit, say). */
export function unfitAnswerRow(
  config: AnswerConfig & {
    gpu: string;
    tensorParallel: number;
    pipelineParallel?: number;
    threshold: number | null;
    fusionMode: 'bff' | 'cff' | null;
  },
  reason: string,
): AnswerRow {
  return {
    pipelineParallel: 1,
    ...config,
    targetRate: null,
    gpuName: config.gpu,
    feasible: false,
    limitedBy: `infeasible: ${reason}`,
    maxRatePerReplica: null,
    sloAtMax: [],
    replicas: null,
    gpus: null,
    usdPerHour: null,
    costPerMillionOutputTokensUsd: null,
    costPerMillionTotalTokensUsd: null,
    kvPeakUsedBlocks: null,
    kvBlocksTotal: null,
    accuracy: [],
    profileSource: null,
    calibrated: 'datasheet only',
    pareto: false,
  };
}

/**
 * The answer's front: cheaper per hour for the rate, cheaper per million output tokens, and a
 * safer (higher) threshold, no fusion safest; one that does not serve the rate is never on it.
 */
const ANSWER_OBJECTIVES: readonly Objective<AnswerRow>[] = [
  { value: (r) => r.usdPerHour, higherIsBetter: higherIsBetter('usd_per_hour') },
  {
    value: (r) => r.costPerMillionOutputTokensUsd,
    higherIsBetter: higherIsBetter('cost_per_million_output_tokens_usd'),
  },
  { value: (r) => r.threshold ?? 2, higherIsBetter: higherIsBetter('fusion-threshold') },
];

/** Serves the target rate: feasible, with a replica count. */
const serves = (r: AnswerRow): boolean => r.feasible && r.gpus !== null;

/**
 * Cheaper first: price per hour (a missing price ranks after any price), then fewer GPUs, then a
 * higher rate per replica, then the safer (higher) threshold.
 */
function cheaper(a: AnswerRow, b: AnswerRow): number {
  const price = (r: AnswerRow) => r.usdPerHour ?? Infinity;
  return (
    price(a) - price(b) ||
    (a.gpus ?? Infinity) - (b.gpus ?? Infinity) ||
    (b.maxRatePerReplica ?? 0) - (a.maxRatePerReplica ?? 0) ||
    (b.threshold ?? 2) - (a.threshold ?? 2) ||
    a.index - b.index
  );
}

/**
 * The plan's answer from its rows (any order): the cheapest configurations and the sentence. The
 * target rate is the rows' (the same workload's), unless given.
 */
export function planAnswer(rows: AnswerRow[], given?: number | null): PlanAnswer {
  const targetRate = given ?? rows.find((r) => r.targetRate !== null)?.targetRate ?? null;
  const front = new Set(paretoFront(rows, ANSWER_OBJECTIVES, serves));
  const sorted = [...rows].sort((a, b) => a.index - b.index).map((r) => ({ ...r, pareto: front.has(r) }));
  const unfused = sorted.filter((r) => r.threshold === null && serves(r)).sort(cheaper);
  const thresholds = [...new Set(sorted.flatMap((r) => (r.threshold === null ? [] : [r.threshold])))].sort(
    (a, b) => a - b,
  );
  const bestFused = thresholds.flatMap((t) => {
    const best = sorted.filter((r) => r.threshold === t && serves(r)).sort(cheaper)[0];
    return best ? [{ threshold: t, index: best.index }] : [];
  });
  const best = unfused[0]?.index ?? null;
  return {
    mode: 'answer',
    targetRate,
    rows: sorted,
    best,
    bestFused,
    sentence: answerSentence(sorted, best, bestFused, targetRate),
  };
}

const money = (usd: number): string => `$${usd >= 100 ? usd.toFixed(0) : usd.toFixed(2)}`;
const num = (x: number): string => Number(x.toPrecision(3)).toString();

/** `TP2`, or `TP2 x PP2` with pipeline stages. */
export function parallelText(r: Pick<AnswerRow, 'tensorParallel' | 'pipelineParallel'>): string {
  return `TP${r.tensorParallel}${r.pipelineParallel > 1 ? ` x PP${r.pipelineParallel}` : ''}`;
}

/** `2 x NVIDIA H100 80GB HBM3 SXM (h100-sxm, TP1, 2 replicas) for $7.00/h` */
function configText(r: AnswerRow): string {
  const replicas = `${r.replicas} ${r.replicas === 1 ? 'replica' : 'replicas'}`;
  const price = r.usdPerHour === null ? 'at no price given' : `for ${money(r.usdPerHour)}/h`;
  return `${r.gpus} x ${r.gpuName} (${r.gpu}, ${parallelText(r)}, ${replicas}) ${price}`;
}

/**
 * A row's accuracy cost, every metric named: `attention output relative error 0.018 (lower is
 * better, 95 % interval 0.016-0.02, proxy)`, or why there is none.
 */
export function accuracyText(r: AnswerRow): string {
  if (!r.accuracy.length)
    return r.profileSource === 'parametric'
      ? 'not measured (no fusion profile built: the parametric one)'
      : 'not measured at this threshold';
  return r.accuracy
    .map((a) => {
      const dir = a.higherIsBetter === null ? '' : a.higherIsBetter ? 'higher is better' : 'lower is better';
      const iv = a.interval ? `95 % interval ${num(a.interval[0])}-${num(a.interval[1])}` : '';
      const notes = [dir, iv, a.source].filter(Boolean).join(', ');
      return `${a.label} ${num(a.value)} (${notes})`;
    })
    .join(' and ');
}

/**
 * One sentence: the cheapest configuration without fusion (GPU type, count, price), then the
 * cheapest with fusion and its accuracy cost; or, when nothing serves the rate, why not.
 */
export function answerSentence(
  rows: AnswerRow[],
  best: number | null,
  bestFused: PlanAnswer['bestFused'],
  targetRate: number | null,
): string {
  const at = (i: number) => rows.find((r) => r.index === i)!;
  const rate = targetRate === null ? "the workload's rate" : `${num(targetRate)} req/s`;
  const fused = bestFused.map((b) => at(b.index)).sort(cheaper)[0];
  const fusedText = (r: AnswerRow) =>
    `with ${(r.fusionMode ?? 'fusion').toUpperCase()} at ${r.threshold}, ${configText(r)} at an accuracy cost ` +
    `${r.accuracy.length ? 'of ' : ''}${accuracyText(r)}`;
  if (best === null) {
    const reasons = [
      ...new Set(
        rows.filter((r) => r.threshold === null).map((r) => `${r.gpu} ${parallelText(r)}: ${r.limitedBy}`),
      ),
    ];
    const head = `No configuration without fusion serves ${rate} within the SLO (${reasons.join('; ')})`;
    return fused ? `${head}; ${fusedText(fused)}.` : `${head}, nor any with fusion.`;
  }
  const b = at(best);
  const head = `Serve ${rate} on ${configText(b)}`;
  // Fusion that buys nothing here (the same price and GPUs) is said so, with what it would cost.
  const same =
    fused &&
    fused.gpu === b.gpu &&
    fused.tensorParallel === b.tensorParallel &&
    fused.pipelineParallel === b.pipelineParallel &&
    fused.gpus === b.gpus &&
    fused.usdPerHour === b.usdPerHour;
  if (fused && same)
    return (
      `${head}; ${(fused.fusionMode ?? 'fusion').toUpperCase()} at ${fused.threshold} saves nothing here ` +
      `(the same ${fused.gpus} x ${fused.gpu}), at an accuracy cost ${fused.accuracy.length ? 'of ' : ''}${accuracyText(fused)}.`
    );
  if (!fused)
    return rows.some((r) => r.threshold !== null)
      ? `${head}; with fusion, no threshold serves it.`
      : `${head}.`;
  return `${head}; ${fusedText(fused)}.`;
}
