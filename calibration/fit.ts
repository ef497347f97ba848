/**
 * Fits the engine-side step-time coefficients (per step, layer, running sequence, prefill chunk and
 * sampled token, and the client's front-end delay; the per-GPU kernel curves stay as measured) on
 * the "fit" runs of the measured vLLM data and
 * reports the error on every run, held-out ones included. Writes the coefficients to
 * libs/sim/src/time/default-profile.json and the report to bench/results/calibration.json.
 *
 *   npx tsx calibration/fit.ts [--max-evals N]
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
  fitTimeModel,
  kernelCalibrationFor,
  type CaseError,
  type ResidualTable,
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
const fit = fitTimeModel(fitCases, DEFAULT_TIME_MODEL, {
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
const seconds = (performance.now() - started) / 1000;

const errors: Array<CaseError & { split: string }> = cases.map((c) => ({
  ...caseError(c, fit.coefficients),
  split: SPLIT[c.id] ?? 'holdout',
}));
const pct = (v: number | undefined) => (v === undefined ? '   n/a' : `${(v * 100).toFixed(1).padStart(6)}%`);
const shown = ['mean_ttft_ms', 'p90_ttft_ms', 'mean_tpot_ms', 'mean_e2el_ms', 'p90_e2el_ms'] as const;
console.log(`| run | split | ${shown.join(' | ')} |`);
console.log(`|---|---|${shown.map(() => '---:').join('|')}|`);
for (const e of errors)
  console.log(`| ${e.id} | ${e.split} | ${shown.map((m) => pct(e.relativeError[m])).join(' | ')} |`);
const mape = (split: string) => {
  const vals = errors
    .filter((e) => e.split === split)
    .flatMap((e) => shown.map((m) => Math.abs(e.relativeError[m] ?? 0)));
  return vals.reduce((a, b) => a + b, 0) / Math.max(1, vals.length);
};
console.log(
  `\nmean |relative error| over shown metrics: fit ${(mape('fit') * 100).toFixed(1)}%, holdout ${(mape('holdout') * 100).toFixed(1)}%, stress ${(mape('stress') * 100).toFixed(1)}%`,
);
console.log(`fit: ${fit.evaluations} evaluations, loss ${fit.loss.toFixed(4)}, ${seconds.toFixed(0)} s`);
console.log(JSON.stringify(fit.coefficients, null, 2));

fs.writeFileSync(
  path.join(root, 'libs/sim/src/time/default-profile.json'),
  JSON.stringify(fit.coefficients, null, 2) + '\n',
);
// The interval policy's residuals: RMS log error per calibration class and metric over the fit and
// held-out runs (the stress runs had CPU KV offload, which the simulator does not model).
const sums = new Map<string, { runs: number; sq: Record<string, number>; n: Record<string, number> }>();
cases.forEach((c, i) => {
  if (errors[i].split === 'stress') return;
  const cls = calibrationClass(kernelCalibrationFor(c.spec.gpu).source);
  const acc = sums.get(cls) ?? { runs: 0, sq: {}, n: {} };
  acc.runs++;
  for (const m of SCORED_METRICS) {
    const meas = errors[i].measured[m];
    const sim = errors[i].simulated[m];
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
      coefficients: fit.coefficients,
      loss: fit.loss,
      evaluations: fit.evaluations,
      seconds,
      meanAbsRelativeError: { fit: mape('fit'), holdout: mape('holdout'), stress: mape('stress') },
      cases: errors,
    },
    null,
    2,
  ) + '\n',
);
