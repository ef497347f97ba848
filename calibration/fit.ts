/**
 * Fits the engine-side step-time coefficients (per step, layer, running sequence, prefill chunk and
 * sampled token, and the client's front-end delay; the per-GPU kernel curves stay as measured) on
 * the "fit" runs of the measured vLLM data, then each GPU's serving factor (a multiplier on the
 * kernel-curve part of its step time) on that GPU's "fit" runs alone, with the shared costs held,
 * and reports the error on every run, held-out ones included, with and without the factors.
 * Writes the coefficients to libs/sim/src/time/default-profile.json and the report to
 * bench/results/calibration.json.
 *
 *   npx tsx calibration/fit.ts [--max-evals N] [--engine-only] [--factors-only] [--no-factors]
 *
 * --factors-only keeps the shared coefficients as they are and fits the factors alone;
 * --no-factors writes the shared fit without any.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import {
  DEFAULT_TIME_MODEL,
  ENGINE_COEFFICIENTS,
  SCORED_METRICS,
  caseError,
  calibrationClass,
  calibrationLoss,
  nelderMead,
  fitTimeModel,
  kernelCalibrationFor,
  type CalibrationCase,
  type CaseError,
  type ResidualTable,
  type ServingFactor,
  type TimeModelCoefficients,
} from '@kvplan/sim';
import { SPLIT, loadVllmMeasuredCases } from './vllm-measured';

const SERVING_FRACTIONS = ['memEfficiency', 'computeEfficiency', 'attentionEfficiency'] as const;
const maxEvals = Number(process.argv[process.argv.indexOf('--max-evals') + 1]) || 250;
const root = path.resolve(__dirname, '..');
const cases = loadVllmMeasuredCases();
if (cases.length === 0) {
  console.error(
    'no measured runs found beside the repository (../shared/data/vllm-measured): nothing to fit',
  );
  process.exit(2);
}
const fitCases = cases.filter((c) => SPLIT[c.id] === 'fit');
const started = performance.now();
// The shared coefficients are fitted (or kept) without any GPU's factor.
const { servingFactors: _previous, ...profile } = DEFAULT_TIME_MODEL;
// The fit moves coefficients through their logarithm: one at 0 could never leave it, so the
// per-all-reduce cost starts at 5 us when the profile has none.
const shared: TimeModelCoefficients = { ...profile, allReduceLatencyS: profile.allReduceLatencyS || 5e-6 };
const fit = process.argv.includes('--factors-only')
  ? { coefficients: shared, loss: calibrationLoss(fitCases, shared), evaluations: 0 }
  : fitTimeModel(fitCases, shared, {
      maxEvals,
      name: 'vllm-measured-2026-12',
      // The engine-side costs, and serving's fraction of the kernel-measured rates (one each for
      // every GPU): the GPU-specific part is the kernel curves, as measured.
      keys: process.argv.includes('--engine-only')
        ? ENGINE_COEFFICIENTS
        : [...ENGINE_COEFFICIENTS, ...SERVING_FRACTIONS],
      onEval: (loss, n) => {
        if (n % 10 === 0) process.stderr.write(`eval ${n}: loss ${loss.toFixed(4)}\n`);
      },
    });

/**
 * One GPU's serving factor: the multiplier on its kernel-curve time that minimises the loss on
 * its "fit" runs, the shared coefficients held. Only for a GPU that also has a run outside the
 * fit split to check it on: on a GPU whose every run is fitted on, a factor would memorise them.
 */
function fitServingFactor(gpu: string, runs: CalibrationCase[], base: TimeModelCoefficients): ServingFactor {
  const at = (logF: number): TimeModelCoefficients => ({
    ...base,
    servingFactors: { [gpu]: { factor: Math.exp(logF), runs: runs.length } },
  });
  const res = nelderMead((x) => calibrationLoss(runs, at(x[0])), [0], { maxEvals: 30, step: 0.1 });
  process.stderr.write(`${gpu}: factor ${Math.exp(res.x[0]).toFixed(4)} after ${res.evals} evaluations\n`);
  return { factor: Math.round(Math.exp(res.x[0]) * 1e4) / 1e4, runs: runs.length };
}
const gpuIds = [...new Set(cases.map((c) => c.spec.gpu.id))];
const factorReport: Record<string, { fitRuns: number; checkRuns: number; factor: number | null }> = {};
const servingFactors: Record<string, ServingFactor> = {};
for (const gpu of gpuIds) {
  const fitRuns = fitCases.filter((c) => c.spec.gpu.id === gpu);
  const checkRuns = cases.filter((c) => c.spec.gpu.id === gpu && SPLIT[c.id] !== 'fit').length;
  const eligible = !process.argv.includes('--no-factors') && fitRuns.length > 0 && checkRuns > 0;
  if (eligible) servingFactors[gpu] = fitServingFactor(gpu, fitRuns, fit.coefficients);
  factorReport[gpu] = { fitRuns: fitRuns.length, checkRuns, factor: servingFactors[gpu]?.factor ?? null };
}
const coefficients: TimeModelCoefficients =
  Object.keys(servingFactors).length > 0 ? { ...fit.coefficients, servingFactors } : fit.coefficients;
const seconds = (performance.now() - started) / 1000;

const withSplit = (co: TimeModelCoefficients): Array<CaseError & { split: string }> =>
  cases.map((c) => ({ ...caseError(c, co), split: SPLIT[c.id] ?? 'holdout' }));
const errors = withSplit(coefficients);
const before = coefficients.servingFactors ? withSplit(fit.coefficients) : errors;
const pct = (v: number | undefined) => (v === undefined ? '   n/a' : `${(v * 100).toFixed(1).padStart(6)}%`);
const shown = ['mean_ttft_ms', 'p90_ttft_ms', 'mean_tpot_ms', 'mean_e2el_ms', 'p90_e2el_ms'] as const;
console.log(`| run | split | ${shown.join(' | ')} |`);
console.log(`|---|---|${shown.map(() => '---:').join('|')}|`);
for (const e of errors)
  console.log(`| ${e.id} | ${e.split} | ${shown.map((m) => pct(e.relativeError[m])).join(' | ')} |`);
const mape = (split: string, errs = errors) => {
  const vals = errs
    .filter((e) => e.split === split)
    .flatMap((e) => shown.map((m) => Math.abs(e.relativeError[m] ?? 0)));
  return vals.reduce((a, b) => a + b, 0) / Math.max(1, vals.length);
};
console.log(
  `\nmean |relative error| over shown metrics: fit ${(mape('fit') * 100).toFixed(1)}%, holdout ${(mape('holdout') * 100).toFixed(1)}%, stress ${(mape('stress') * 100).toFixed(1)}%`,
);
console.log(
  `without the serving factors: fit ${(mape('fit', before) * 100).toFixed(1)}%, holdout ${(mape('holdout', before) * 100).toFixed(1)}%, stress ${(mape('stress', before) * 100).toFixed(1)}%`,
);
for (const [gpu, r] of Object.entries(factorReport))
  console.log(
    `${gpu}: ${r.fitRuns} fit run(s), ${r.checkRuns} other run(s): ${r.factor === null ? 'no serving factor (1)' : `serving factor ${r.factor}`}`,
  );
console.log(`fit: ${fit.evaluations} evaluations, loss ${fit.loss.toFixed(4)}, ${seconds.toFixed(0)} s`);
console.log(JSON.stringify(coefficients, null, 2));

fs.writeFileSync(
  path.join(root, 'libs/sim/src/time/default-profile.json'),
  JSON.stringify(coefficients, null, 2) + '\n',
);
// The interval policy's residuals: RMS log error per calibration class and metric over the fit and
// held-out runs (not the overloaded stress runs), measured WITHOUT the serving factors: a class
// holds GPUs that have no serving runs (and so no factor), whose projections must not borrow the
// narrower errors a factor buys; for GPUs with a factor the interval is then conservative.
const sums = new Map<string, { runs: number; sq: Record<string, number>; n: Record<string, number> }>();
cases.forEach((c, i) => {
  if (before[i].split === 'stress') return;
  const cls = calibrationClass(kernelCalibrationFor(c.spec.gpu).source);
  const acc = sums.get(cls) ?? { runs: 0, sq: {}, n: {} };
  acc.runs++;
  for (const m of SCORED_METRICS) {
    const meas = before[i].measured[m];
    const sim = before[i].simulated[m];
    if (!(meas !== undefined && meas > 0 && sim > 0)) continue;
    acc.sq[m] = (acc.sq[m] ?? 0) + Math.log(sim / meas) ** 2;
    acc.n[m] = (acc.n[m] ?? 0) + 1;
  }
  sums.set(cls, acc);
});
const residuals: ResidualTable = {
  format: 'kvplan-residuals/1',
  classes: Object.fromEntries(
    [...sums].map(([cls, a]) => [
      cls,
      {
        runs: a.runs,
        rmsLogError: Object.fromEntries(
          Object.keys(a.sq).map((m) => [m, Math.round(Math.sqrt(a.sq[m] / a.n[m]) * 1e4) / 1e4]),
        ),
      },
    ]),
  ),
};
fs.writeFileSync(
  path.join(root, 'libs/sim/src/calibration/residuals.json'),
  JSON.stringify(residuals, null, 2) + '\n',
);
fs.mkdirSync(path.join(root, 'bench/results'), { recursive: true });
fs.writeFileSync(
  path.join(root, 'bench/results/calibration.json'),
  JSON.stringify(
    {
      machine: `${os.cpus()[0]?.model ?? 'cpu'} x${os.cpus().length}, node ${process.version}`,
      scoredMetrics: SCORED_METRICS,
      coefficients,
      loss: fit.loss,
      evaluations: fit.evaluations,
      seconds,
      servingFactors: factorReport,
      meanAbsRelativeError: { fit: mape('fit'), holdout: mape('holdout'), stress: mape('stress') },
      meanAbsRelativeErrorWithoutServingFactors: {
        fit: mape('fit', before),
        holdout: mape('holdout', before),
        stress: mape('stress', before),
      },
      cases: errors,
    },
    null,
    2,
  ) + '\n',
);
