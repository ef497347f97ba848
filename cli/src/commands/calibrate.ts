import * as path from 'node:path';
import {
  type InputIssue,
  GPU_PROFILE_FORMAT,
  InputError,
  fitTimeModel,
  type CalibrationCase,
  type GpuProfileFile,
} from '@kvplan/sim';
import type { Command } from '../command';
import { writeFileAtomic } from '../io';
import { loadMeasured } from '../measured';
import { Progress } from '../progress';
import { loadSpec } from './simulate';
import { inputFileIssue, outputFileIssue, throwIssues } from '../paths';

export const calibrateCommand: Command = {
  name: 'calibrate',
  usage: 'calibrate SPEC MEASURED [SPEC MEASURED ...] --out PROFILE.json',
  summary: 'Fit the step-time coefficients to your own measured runs and save them as a GPU profile',
  flags: {
    out: { type: 'string', description: 'where to write the kvplan-gpu-profile/1 JSON' },
    'max-evals': { type: 'integer', description: 'simulations the fit may run (default 150)', default: 150 },
    name: { type: 'string', description: 'name of the profile (default: the GPU id and "calibrated")' },
    json: { type: 'boolean', description: 'print the saved profile as JSON' },
  },
  async run(args, io) {
    const pos = args.positionals;
    const issues: Array<InputIssue | null> = [];
    if (pos.length === 0 || pos.length % 2 !== 0)
      issues.push({
        path: 'arguments',
        message:
          'expected pairs of SPEC (deployment and measured workload) and MEASURED (benchmark_serving JSON or per-request CSV)',
      });
    if (!args.flags.out)
      issues.push({ path: '--out', message: 'expected the file to write the GPU profile to' });
    else issues.push(outputFileIssue(args.flags.out as string, io.cwd, '--out'));
    for (let i = 0; i + 1 < pos.length; i += 2)
      issues.push(
        inputFileIssue(pos[i], io.cwd, `SPEC ${pos[i]}`),
        inputFileIssue(pos[i + 1], io.cwd, `MEASURED ${pos[i + 1]}`),
      );
    const maxEvals = args.flags['max-evals'] as number;
    if (!(maxEvals >= 10))
      issues.push({ path: '--max-evals', message: `expected at least 10, got ${maxEvals}` });
    throwIssues(issues);
    const cases: CalibrationCase[] = [];
    for (let i = 0; i < pos.length; i += 2) {
      const spec = loadSpec(pos[i], io.cwd);
      cases.push({ id: pos[i], spec, measured: loadMeasured(pos[i + 1], io.cwd) });
    }
    const gpus = new Set(cases.map((c) => c.spec.gpu.id));
    if (gpus.size > 1)
      throw new InputError([
        { path: 'SPEC', message: `a GPU profile is for one GPU; these specs use ${[...gpus].join(', ')}` },
      ]);
    const gpu = [...gpus][0];
    const progress = new Progress(io, 'kvplan calibrate', { json: Boolean(args.flags.json) });
    // The profile's own serving fractions are fitted on this GPU: no other fit's serving factor on top.
    const { servingFactors: _shared, ...start } = cases[0].spec.timeModel;
    const fit = fitTimeModel(cases, start, {
      maxEvals,
      name: (args.flags.name as string) ?? `${gpu}-calibrated`,
      onEval: (loss, n) =>
        progress.update(n / maxEvals, `${n}/${maxEvals} simulations, loss ${loss.toFixed(4)}`),
    });
    progress.done();
    const profile: GpuProfileFile = { format: GPU_PROFILE_FORMAT, gpu, coefficients: fit.coefficients };
    writeFileAtomic(path.resolve(io.cwd, args.flags.out as string), JSON.stringify(profile, null, 2) + '\n');
    if (args.flags.json)
      io.stdout(JSON.stringify({ ...profile, loss: fit.loss, evaluations: fit.evaluations }, null, 2) + '\n');
    else
      io.stdout(
        `saved ${args.flags.out}: ${fit.evaluations} simulations, loss ${fit.loss.toFixed(4)} (mean squared log error)\n` +
          `use it with  calibration: ${args.flags.out}  in a spec\n`,
      );
    return 0;
  },
};
