import * as fs from 'node:fs';
import * as path from 'node:path';
import YAML from 'yaml';
import {
  InputError,
  parseSimulationSpec,
  resolveSimulationSpec,
  simulate,
  type ResolvedSpec,
  type SimulationResult,
  type SimulationRun,
} from '@kvplan/sim';
import type { Command } from '../command';
import { writeFileAtomic } from '../io';
import { formatResultTable } from '../format';
import { requestsCsv } from '../requests-csv';

/** Reads and resolves a spec file; `seed` overrides the spec's own. */
export function loadSpec(
  file: string,
  cwd: string,
  over: { seed?: number; timeseriesS?: number } = {},
): ResolvedSpec {
  const full = path.resolve(cwd, file);
  if (!fs.existsSync(full) || !fs.statSync(full).isFile())
    throw new InputError([{ path: 'SPEC', message: `no such file: ${file}` }]);
  const text = fs.readFileSync(full, 'utf8');
  // Without a seed override the spec library parses the text itself, naming file:line on a syntax error.
  if (over.seed === undefined) {
    const spec = parseSimulationSpec(text, { fileName: file, baseDir: path.dirname(full) });
    if (over.timeseriesS !== undefined) spec.timeseriesResolutionS = over.timeseriesS;
    return spec;
  }
  let obj: unknown;
  try {
    obj = /\.json$/i.test(full) ? JSON.parse(text) : YAML.parse(text);
  } catch (err) {
    throw new InputError([
      {
        path: file,
        message: `not valid ${/\.json$/i.test(full) ? 'JSON' : 'YAML'}: ${(err as Error).message}`,
      },
    ]);
  }
  if (over.seed !== undefined && obj && typeof obj === 'object' && !Array.isArray(obj))
    obj = { ...obj, seed: over.seed };
  const spec = resolveSimulationSpec(obj, { fileName: file, baseDir: path.dirname(full) });
  if (over.timeseriesS !== undefined) spec.timeseriesResolutionS = over.timeseriesS;
  return spec;
}

/** Mean and 95 % interval (Student t) of a metric over seeds. */
export function meanInterval(values: number[]): { mean: number; ci95: [number, number] } {
  const n = values.length;
  const mean = values.reduce((a, b) => a + b, 0) / n;
  if (n < 2) return { mean, ci95: [mean, mean] };
  const sd = Math.sqrt(values.reduce((a, b) => a + (b - mean) ** 2, 0) / (n - 1));
  const half = tQuantile975(n - 1) * (sd / Math.sqrt(n));
  return { mean, ci95: [mean - half, mean + half] };
}

function tQuantile975(df: number): number {
  const table = [
    12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179, 2.16, 2.145, 2.131,
  ];
  if (df <= table.length) return table[df - 1];
  if (df <= 30) return 2.042 + ((30 - df) / 15) * (2.131 - 2.042);
  return 1.96 + 2.4 / df;
}

export const simulateCommand: Command = {
  name: 'simulate',
  usage: 'simulate SPEC [--json] [--requests out.csv] [--seeds N]',
  summary: 'Simulate a deployment serving a workload (vLLM V1 semantics)',
  flags: {
    json: { type: 'boolean', description: 'print one JSON document (DESIGN.md result contract)' },
    requests: { type: 'string', description: 'write per-request records to this CSV file' },
    seeds: {
      type: 'integer',
      description: 'run N seeds (spec seed, +1, ...) and report mean and 95 % interval',
      default: 1,
    },
    timeseries: {
      type: 'number',
      description: 'record KV blocks, batch and queue every S simulated seconds',
    },
  },
  async run(args, io) {
    const [file, ...extra] = args.positionals;
    const issues = [];
    if (!file) issues.push({ path: 'SPEC', message: 'expected a spec file (YAML or JSON)' });
    if (extra.length) issues.push({ path: 'arguments', message: `unexpected: ${extra.join(' ')}` });
    const seeds = args.flags.seeds as number;
    if (!(seeds >= 1 && seeds <= 1000))
      issues.push({ path: '--seeds', message: `expected an integer in 1..1000, got ${seeds}` });
    const ts = args.flags.timeseries as number | undefined;
    if (ts !== undefined && !(ts > 0))
      issues.push({ path: '--timeseries', message: `expected a positive number of seconds, got ${ts}` });
    if (issues.length) throw new InputError(issues);

    const base = loadSpec(file, io.cwd, { timeseriesS: ts });
    const runs: SimulationRun[] = [];
    for (let k = 0; k < seeds; k++) {
      const spec = k === 0 ? base : loadSpec(file, io.cwd, { seed: base.seed + k, timeseriesS: ts });
      runs.push(simulate(spec));
    }
    if (args.flags.requests)
      writeFileAtomic(path.resolve(io.cwd, args.flags.requests as string), requestsCsv(runs[0]));
    const result = seeds === 1 ? runs[0].result : aggregate(runs.map((r) => r.result));
    if (args.flags.json) io.stdout(JSON.stringify(result, null, 2) + '\n');
    else io.stdout(formatResultTable(result, base));
    return 0;
  },
};

/** Means over seeds, with each numeric metric's 95 % interval under `ci95`. */
export function aggregate(
  results: SimulationResult[],
): SimulationResult & { ci95: Record<string, [number, number]>; seeds: number[] } {
  const first = results[0];
  const out: Record<string, unknown> = { ...first };
  const ci95: Record<string, [number, number]> = {};
  for (const [k, v] of Object.entries(first)) {
    if (typeof v !== 'number') continue;
    const m = meanInterval(results.map((r) => (r as unknown as Record<string, number>)[k]));
    out[k] = m.mean;
    ci95[k] = m.ci95;
  }
  return { ...(out as unknown as SimulationResult), ci95, seeds: results.map((r) => r.meta.seed) };
}
