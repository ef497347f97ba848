import { InputError, SCORED_METRICS, caseError } from '@kvplan/sim';
import type { Command } from '../command';
import { loadMeasured } from '../measured';
import { loadSpec } from './simulate';
import { inputFileIssue, throwIssues } from '../paths';

export const compareCommand: Command = {
  name: 'compare',
  usage: 'compare SPEC MEASURED [--json]',
  summary: 'Hold a projection against a measured run (benchmark_serving JSON or per-request CSV)',
  maxPositionals: 2,
  flags: { json: { type: 'boolean', description: 'print one JSON document' } },
  async run(args, io) {
    const [specFile, measuredFile] = args.positionals;
    if (!specFile || !measuredFile)
      throw new InputError([
        {
          path: 'arguments',
          message: 'expected SPEC (the deployment and the workload that was measured) and MEASURED',
        },
      ]);
    throwIssues([inputFileIssue(specFile, io.cwd, 'SPEC'), inputFileIssue(measuredFile, io.cwd, 'MEASURED')]);
    const spec = loadSpec(specFile, io.cwd);
    const measured = loadMeasured(measuredFile, io.cwd);
    const e = caseError({ id: specFile, spec, measured }, spec.timeModel);
    const rows = SCORED_METRICS.filter((m) => measured[m] !== undefined).map((m) => ({
      metric: m,
      measured: measured[m]!,
      simulated: e.simulated[m],
      relative_error: e.relativeError[m] ?? null,
    }));
    const abs = rows.filter((r) => r.relative_error !== null).map((r) => Math.abs(r.relative_error!));
    const mape = abs.reduce((a, b) => a + b, 0) / Math.max(1, abs.length);
    if (args.flags.json)
      io.stdout(
        JSON.stringify(
          { calibration_profile: spec.timeModel.name, metrics: rows, mean_abs_relative_error: mape },
          null,
          2,
        ) + '\n',
      );
    else {
      io.stdout(
        `calibration profile: ${spec.timeModel.name}\n\nmetric              measured   simulated    error\n`,
      );
      for (const r of rows)
        io.stdout(
          `${r.metric.padEnd(16)} ${r.measured.toFixed(1).padStart(11)} ${r.simulated.toFixed(1).padStart(11)} ` +
            `${r.relative_error === null ? '       -' : ((r.relative_error * 100).toFixed(1) + ' %').padStart(9)}\n`,
        );
      io.stdout(`\nmean |relative error|: ${(mape * 100).toFixed(1)} %\n`);
    }
    return 0;
  },
};
