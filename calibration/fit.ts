/**
 * Fits the default step-time coefficients on the "fit" runs of the measured vLLM data and
 * reports the error on every run, held-out ones included. Writes the coefficients to
 * libs/sim/src/time/default-profile.json and the report to bench/results/calibration.json.
 *
 *   npx tsx calibration/fit.ts [--max-evals N]
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { DEFAULT_TIME_MODEL, SCORED_METRICS, caseError, fitTimeModel, type CaseError } from '@kvplan/sim';
import { SPLIT, loadVllmMeasuredCases } from './vllm-measured';

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
  name: 'vllm-measured-2026-11',
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
