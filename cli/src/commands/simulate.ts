import * as path from 'node:path';
import {
  requireKernelData,
  resultIntervals,
  simulate,
  type ResolvedSpec,
  type SimulationResult,
  type SimulationRun,
} from '@kvplan/sim';
import type { Command } from '../command';
import { writeFileAtomic } from '../io';
import { formatResultTable } from '../format';
import { requestsCsv } from '../requests-csv';
import { Progress } from '../progress';
import { inRange } from '../args';
import { inputFileIssue, outputFileIssue, throwIssues } from '../paths';
import { readSpecFile, resolveSpecFile } from '../spec-file';

/** Reads and resolves a spec file; `seed` overrides the spec's own. */
export function loadSpec(
  file: string,
  cwd: string,
  over: { seed?: number; timeseriesS?: number } = {},
): ResolvedSpec {
  const spec = resolveSpecFile(readSpecFile(file, cwd), over.seed === undefined ? {} : { seed: over.seed });
  if (over.timeseriesS !== undefined) spec.timeseriesResolutionS = over.timeseriesS;
  return spec;
}

export const simulateCommand: Command = {
  name: 'simulate',
  usage: 'simulate SPEC [--json] [--requests out.csv] [--seeds N]',
  summary:
    'Simulate a deployment serving a workload (vLLM V1 semantics); every spec key, default and unit: docs/spec-reference.md',
  maxPositionals: 1,
  flags: {
    json: {
      type: 'boolean',
      description:
        'print one JSON document: benchmark_serving metric names plus kvplan fields (libs/sim/schemas/simulation-result.schema.json)',
    },
    requests: { type: 'string', description: 'write per-request records to this CSV file' },
    seeds: {
      type: 'integer',
      description:
        'run N seeds (spec seed, +1, ...): metrics are means over seeds, `intervals` (90 %) combine calibration residuals and the spread over seeds',
      default: 1,
      check: inRange(1, 1000, 'an integer in 1..1000'),
    },
    timeseries: {
      type: 'number',
      description: 'record KV blocks, batch and queue every S simulated seconds',
      check: (v) => ((v as number) > 0 ? null : `expected a positive number of seconds, got ${String(v)}`),
    },
    'require-kernel-data': {
      type: 'boolean',
      description: 'refuse (exit 2) a GPU with neither kernel measurements nor a measured sibling',
    },
  },
  async run(args, io) {
    const [file] = args.positionals;
    const seeds = args.flags.seeds as number;
    const ts = args.flags.timeseries as number | undefined;
    throwIssues([
      file
        ? inputFileIssue(file, io.cwd, 'SPEC')
        : { path: 'SPEC', message: 'expected a spec file (YAML or JSON)' },
      args.flags.requests === undefined
        ? null
        : outputFileIssue(args.flags.requests as string, io.cwd, '--requests'),
    ]);

    const base = loadSpec(file, io.cwd, { timeseriesS: ts });
    if (args.flags['require-kernel-data']) requireKernelData(base.gpu, 'gpu');
    const runs: SimulationRun[] = [];
    const progress = new Progress(io, 'kvplan simulate', { json: Boolean(args.flags.json) });
    for (let k = 0; k < seeds; k++) {
      const spec = k === 0 ? base : loadSpec(file, io.cwd, { seed: base.seed + k, timeseriesS: ts });
      runs.push(
        simulate(spec, {
          onProgress: (f) => progress.update((k + f) / seeds, seeds > 1 ? `seed ${spec.seed}` : ''),
        }),
      );
    }
    progress.done();
    if (args.flags.requests)
      writeFileAtomic(path.resolve(io.cwd, args.flags.requests as string), requestsCsv(runs[0]));
    const result = seeds === 1 ? runs[0].result : aggregate(runs.map((r) => r.result));
    if (args.flags.json) io.stdout(JSON.stringify(result, null, 2) + '\n');
    else io.stdout(formatResultTable(result, base));
    return 0;
  },
};

/**
 * Means over seeds, with the one interval policy's `intervals` (calibration residuals of the GPU's
 * class combined with the spread over these seeds) and the seeds run.
 */
export function aggregate(results: SimulationResult[]): SimulationResult & { seeds: number[] } {
  const first = results[0];
  const out: Record<string, unknown> = { ...first };
  for (const [k, v] of Object.entries(first)) {
    if (typeof v !== 'number') continue;
    out[k] = results.reduce((a, r) => a + (r as unknown as Record<string, number>)[k], 0) / results.length;
  }
  const intervals = resultIntervals(
    first.meta.calibrated,
    results as unknown as Array<Record<string, unknown>>,
  );
  return { ...(out as unknown as SimulationResult), intervals, seeds: results.map((r) => r.meta.seed) };
}
