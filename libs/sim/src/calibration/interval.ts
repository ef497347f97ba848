import type { CalibrationSource, ResultIntervals } from '@kvplan/core';
import fitted from './residuals.json';

/**
 * How sure a projection is: the one interval policy of the project (the CLI, the API and the
 * dashboard all call these functions).
 *
 * The error of a projected metric is modelled as log-normal around the projection, with spread
 *   sigma = sqrt(sigma_calibration^2 + sigma_seeds^2)
 * where sigma_calibration is the root-mean-square log error of the simulator against measured
 * runs for that metric and that GPU's calibration class (`residuals.json`, written by the
 * serving calibration), and sigma_seeds the sample standard deviation of the metric's log over
 * seeds (0 with one seed). A class without measured runs takes the largest spread of the
 * classes that have them, doubled for "datasheet only".
 */

/** The calibration classes residuals are kept for. */
export type CalibrationClass = 'kernel-measured' | 'scaled' | 'datasheet only';

/** RMS log error per class and metric (ms metrics by benchmark_serving name), and how many runs. */
export interface ResidualTable {
  format: string;
  classes: Partial<Record<CalibrationClass, { runs: number; rmsLogError: Record<string, number> }>>;
}

const TABLE = fitted as ResidualTable;

export function calibrationClass(source: CalibrationSource): CalibrationClass {
  if (source === 'kernel-measured' || source === 'datasheet only') return source;
  return 'scaled';
}

/** The metric whose residuals stand in for `metric`: itself, else the same percentile family. */
function residualKey(row: Record<string, number>, metric: string): string | null {
  if (row[metric] !== undefined) return metric;
  const m = /^(mean|median|std|p\d+)_(ttft|tpot|itl|e2el)_ms$/.exec(metric);
  if (!m) return null;
  const kind = m[2] === 'itl' ? 'tpot' : m[2];
  const stat = m[1];
  const candidates = stat.startsWith('p')
    ? [`p99_${kind}_ms`, `p90_${kind}_ms`]
    : [`mean_${kind}_ms`, `median_${kind}_ms`];
  return candidates.find((k) => row[k] !== undefined) ?? null;
}

/** sigma_calibration of a metric for a calibration source (log scale), from a residual table. */
export function calibrationSigma(
  source: CalibrationSource,
  metric: string,
  table: ResidualTable = TABLE,
): number {
  const cls = calibrationClass(source);
  const own = table.classes[cls];
  const ownKey = own ? residualKey(own.rmsLogError, metric) : null;
  if (own && ownKey && cls !== 'datasheet only') return own.rmsLogError[ownKey];
  // No runs of this class: the widest measured class, doubled when only the datasheet is known.
  let widest = 0;
  for (const c of Object.values(table.classes)) {
    const k = c ? residualKey(c.rmsLogError, metric) : null;
    if (c && k) widest = Math.max(widest, c.rmsLogError[k]);
  }
  return cls === 'datasheet only' ? 2 * widest : widest;
}

/** Standard normal CDF (Abramowitz-Stegun 7.1.26 erf, |error| < 1.5e-7). */
export function normalCdf(z: number): number {
  const x = Math.abs(z) / Math.SQRT2;
  const t = 1 / (1 + 0.3275911 * x);
  const erf =
    1 -
    ((((1.061405429 * t - 1.453152027) * t + 1.421413741) * t - 0.284496736) * t + 0.254829592) *
      t *
      Math.exp(-x * x);
  return z >= 0 ? 0.5 * (1 + erf) : 0.5 * (1 - erf);
}

/** Standard normal quantile (Acklam's rational approximation, relative error < 1.2e-9). */
export function normalQuantile(p: number): number {
  const a = [
    -39.69683028665376, 220.9460984245205, -275.9285104469687, 138.357751867269, -30.66479806614716,
    2.506628277459239,
  ];
  const b = [
    -54.47609879822406, 161.5858368580409, -155.6989798598866, 66.80131188771972, -13.28068155288572,
  ];
  const c = [
    -0.007784894002430293, -0.3223964580411365, -2.400758277161838, -2.549732539343734, 4.374664141464968,
    2.938163982698783,
  ];
  const d = [0.007784695709041462, 0.3224671290700398, 2.445134137142996, 3.754408661907416];
  const lo = 0.02425;
  if (p < lo) {
    const q = Math.sqrt(-2 * Math.log(p));
    return (
      (((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5]) /
      ((((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1)
    );
  }
  if (p > 1 - lo) return -normalQuantile(1 - p);
  const q = p - 0.5;
  const r = q * q;
  return (
    ((((((a[0] * r + a[1]) * r + a[2]) * r + a[3]) * r + a[4]) * r + a[5]) * q) /
    (((((b[0] * r + b[1]) * r + b[2]) * r + b[3]) * r + b[4]) * r + 1)
  );
}

/** Sample standard deviation of log(values) (0 for fewer than two positive values). */
export function seedSigma(values: readonly number[]): number {
  const logs = values.filter((v) => v > 0).map(Math.log);
  const n = logs.length;
  if (n < 2) return 0;
  const mean = logs.reduce((a, b) => a + b, 0) / n;
  return Math.sqrt(logs.reduce((a, b) => a + (b - mean) ** 2, 0) / (n - 1));
}

export interface ProjectionInterval {
  /** The projection (the mean over seeds when several). */
  value: number;
  low: number;
  high: number;
  /** Central probability of [low, high], e.g. 0.9. */
  level: number;
  /** Combined log-scale spread and its two parts. */
  sigma: number;
  calibrationSigma: number;
  seedSigma: number;
}

/**
 * The interval around a projected metric: `value` (or the mean of `seedValues` when given) times
 * exp(-/+ z sigma), z the normal quantile of the central `level`.
 */
export function projectionInterval(
  metric: string,
  source: CalibrationSource,
  value: number,
  opts: { seedValues?: readonly number[]; level?: number; table?: ResidualTable } = {},
): ProjectionInterval {
  const level = opts.level ?? 0.9;
  const cal = calibrationSigma(source, metric, opts.table);
  const seeds = opts.seedValues ? seedSigma(opts.seedValues) : 0;
  const sigma = Math.sqrt(cal * cal + seeds * seeds);
  const z = normalQuantile(0.5 + level / 2);
  const v =
    opts.seedValues && opts.seedValues.length > 0
      ? opts.seedValues.reduce((a, b) => a + b, 0) / opts.seedValues.length
      : value;
  return {
    value: v,
    low: v * Math.exp(-z * sigma),
    high: v * Math.exp(z * sigma),
    level,
    sigma,
    calibrationSigma: cal,
    seedSigma: seeds,
  };
}

/**
 * Probability that the real metric is at most `limit` (an SLO) when the projection is `value`:
 * Phi(ln(limit / value) / sigma); 0 or 1 when sigma is 0.
 */
export function probabilityWithin(
  metric: string,
  source: CalibrationSource,
  value: number,
  limit: number,
  opts: { seedValues?: readonly number[]; table?: ResidualTable } = {},
): number {
  const iv = projectionInterval(metric, source, value, opts);
  if (!(iv.value > 0)) return 1;
  if (iv.sigma === 0) return iv.value <= limit ? 1 : 0;
  return normalCdf(Math.log(limit / iv.value) / iv.sigma);
}

/** "~90 %": a probability rounded for people (nearest 5 %, kept inside 1-99 %). */
export function formatConfidence(p: number): string {
  const pct = Math.min(99, Math.max(1, Math.round((p * 100) / 5) * 5));
  return `~${pct} %`;
}

/** The metrics every result carries an interval for. */
export const INTERVAL_METRICS = ['ttft', 'tpot', 'itl', 'e2el'].flatMap((m) =>
  ['mean', 'median', 'p90', 'p99'].map((s) => `${s}_${m}_ms`),
);

export type { ResultIntervals } from '@kvplan/core';

/**
 * The intervals of a projection made of one or more seeds' results (same spec, different seeds):
 * each latency metric's projectionInterval with the seeds' values.
 */
export function resultIntervals(
  source: CalibrationSource,
  results: ReadonlyArray<Readonly<Record<string, unknown>>>,
  level = 0.9,
): ResultIntervals {
  const metrics: Record<string, [number, number]> = {};
  for (const m of INTERVAL_METRICS) {
    const values = results
      .map((r) => r[m])
      .filter((v): v is number => typeof v === 'number' && Number.isFinite(v));
    if (values.length === 0) continue;
    const iv = projectionInterval(m, source, values[0], { seedValues: values, level });
    metrics[m] = [iv.low, iv.high];
  }
  return { level, calibrated: source, metrics };
}

/** One SLO term judged with its uncertainty. */
export interface SloConfidence {
  /** The result metric, e.g. `p99_ttft_ms`. */
  metric: string;
  limitMs: number;
  projectedMs: number;
  /** Probability that the real value meets the limit. */
  probability: number;
  /** "meets p99 TTFT 2 s with ~90 % confidence". */
  text: string;
}

const SLO_TERMS = [
  ['ttftMs', 'ttft', 'TTFT'],
  ['tpotMs', 'tpot', 'TPOT'],
  ['e2elMs', 'e2el', 'E2E latency'],
] as const;

const showMs = (ms: number) => (ms >= 1000 ? `${+(ms / 1000).toPrecision(3)} s` : `${+ms.toPrecision(3)} ms`);

/** How likely a projected result meets each SLO term, by the interval policy above. */
export function sloConfidences(
  result: { meta: { calibrated: CalibrationSource } },
  slo: Partial<Record<'ttftMs' | 'tpotMs' | 'e2elMs', { p99?: number; p90?: number; p50?: number }>>,
  opts: { seedValues?: Record<string, readonly number[]>; table?: ResidualTable } = {},
): SloConfidence[] {
  const out: SloConfidence[] = [];
  for (const [key, name, label] of SLO_TERMS) {
    const term = slo[key];
    if (!term) continue;
    for (const [p, stat] of [
      ['p99', 'p99'],
      ['p90', 'p90'],
      ['p50', 'median'],
    ] as const) {
      const limit = term[p];
      if (limit === undefined) continue;
      const metric = `${stat}_${name}_ms`;
      const projected = (result as unknown as Record<string, unknown>)[metric];
      if (typeof projected !== 'number') continue;
      const probability = probabilityWithin(metric, result.meta.calibrated, projected, limit, {
        seedValues: opts.seedValues?.[metric],
        table: opts.table,
      });
      const verb = probability >= 0.5 ? 'meets' : 'misses';
      const conf = formatConfidence(probability >= 0.5 ? probability : 1 - probability);
      out.push({
        metric,
        limitMs: limit,
        projectedMs: projected,
        probability,
        text: `${verb} ${p} ${label} ${showMs(limit)} with ${conf} confidence`,
      });
    }
  }
  return out;
}
