import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { InputError } from '@kvplan/core';
import {
  generateWorkload,
  loadWorkload,
  parseTrace,
  readTraceFile,
  workloadStats,
  workloadToCsv,
} from '../src/workload';
import type { Workload } from '../src/types';

const FIX = path.join(__dirname, 'fixtures', 'workload');
const ctx = { baseDir: FIX, seed: 1, path: 'workload' };
const REPO_ROOT = path.resolve(__dirname, '..', '..', '..');
const AZURE_CONV = path.resolve(
  REPO_ROOT,
  '..',
  'shared',
  'data',
  'azure-llm-2023',
  'AzureLLMInferenceTrace_conv.csv',
);

function issuesOf(fn: () => unknown): string[] {
  try {
    fn();
  } catch (err) {
    if (err instanceof InputError) return err.issues.map((i) => `${i.path}: ${i.message}`);
    throw err;
  }
  throw new Error('expected an InputError, none was thrown');
}

/** Row-wise view with names resolved, for comparing workloads whose name tables differ in order. */
function rows(w: Workload): unknown[] {
  return Array.from({ length: w.n }, (_, i) => [
    w.arrivalS[i],
    w.inputTokens[i],
    w.outputTokens[i],
    w.prefixGroup[i] >= 0 ? w.prefixGroupNames[w.prefixGroup[i]] : null,
    w.prefixGroup[i] >= 0 ? w.prefixTokens[i] : 0,
    w.tenant[i] >= 0 ? w.tenantNames[w.tenant[i]] : null,
    w.stage ? w.stage[i] : null,
    w.requestIds ? w.requestIds[i] : null,
  ]);
}

describe('loadWorkload', () => {
  it('loads a trace relative to baseDir', () => {
    const w = loadWorkload({ trace: 'kvplan.csv' }, ctx);
    expect(w.n).toBe(4);
  });

  it('windows, scales and truncates a trace', () => {
    // Arrivals 0, 0.25, 0.5, 1.5: window [0.25, 1.25) keeps 0.25 and 0.5, shifted to 0 and 0.25.
    const w = loadWorkload({ trace: 'kvplan.csv', startS: 0.25, durationS: 1, timeScale: 2 }, ctx);
    expect(Array.from(w.arrivalS)).toEqual([0, 0.5]);
    expect(w.requestIds).toEqual(['r3', 'r2']);
    expect(loadWorkload({ trace: 'kvplan.csv', maxRequests: 3 }, ctx).requestIds).toEqual(['r1', 'r3', 'r2']);
    expect(issuesOf(() => loadWorkload({ trace: 'kvplan.csv', startS: 10 }, ctx))).toEqual([
      'workload: no request of the trace arrives in [10, end) s (the trace spans 0..1.5 s)',
    ]);
  });

  it('passes trace errors through with file:line', () => {
    expect(issuesOf(() => loadWorkload({ trace: 'nope.csv' }, ctx))).toEqual([
      'nope.csv: the trace file does not exist',
    ]);
  });

  it('generates with the context seed, deterministically', () => {
    const spec = {
      arrival: { process: 'poisson', rate: 5 },
      numRequests: 100,
      inputTokens: { uniform: [1, 50] },
      outputTokens: 8,
    };
    const a = loadWorkload(spec, ctx);
    expect(loadWorkload(spec, ctx)).toEqual(a);
    expect(Array.from(loadWorkload(spec, { ...ctx, seed: 2 }).arrivalS)).not.toEqual(Array.from(a.arrivalS));
    expect(Array.from(a.outputTokens).every((x) => x === 8)).toBe(true);
  });

  it('accepts rate "inf" as in a spec file', () => {
    const w = loadWorkload(
      { arrival: { rate: 'inf' }, numRequests: 3, inputTokens: { fixed: 4 }, outputTokens: { fixed: 2 } },
      ctx,
    );
    expect(Array.from(w.arrivalS)).toEqual([0, 0, 0]);
  });

  it('reports every bad field at once with its full path', () => {
    const msgs = issuesOf(() =>
      loadWorkload(
        {
          arrival: { process: 'bursty', rate: -3, burstines: 2 },
          numRequests: 10.5,
          inputTokens: { uniform: [100, 10] },
          outputTokens: { lognormal: { median: 0, sigma: 1 } },
          prefixGroups: { count: 0, tokens: 'many' },
          tenant: { count: 2 },
        },
        ctx,
      ),
    );
    expect(msgs).toEqual([
      'workload.tenant: unknown key for a generated workload (or give trace: PATH) (did you mean tenants?); expected one of arrival, stages, numRequests, inputTokens, outputTokens, prefixGroups, tenants',
      'workload.arrival.burstines: unknown key (did you mean burstiness?); expected one of process, rate, burstiness',
      'workload.arrival.process: expected poisson, gamma or constant, got "bursty"',
      'workload.arrival.rate: expected a positive number or inf, got -3',
      'workload.numRequests: expected a positive integer at most 20000000, got 10.5',
      'workload.inputTokens.uniform: lo (100) is greater than hi (10)',
      'workload.outputTokens.lognormal.median: expected a positive number, got 0',
      'workload.prefixGroups.count: expected a positive integer at most 10000000, got 0',
      'workload.prefixGroups.tokens: expected a positive integer at most 2147483647, got "many"',
    ]);
  });

  it('names missing sections and malformed distributions', () => {
    expect(issuesOf(() => loadWorkload({ arrival: { process: 'gamma' } }, ctx))).toEqual([
      'workload.arrival.rate: is required (requests per second, or inf for all at once) unless stages are given',
      'workload.numRequests: is required (a positive integer) unless stages are given',
      'workload.inputTokens: is required: {fixed: N}, {uniform: [lo, hi]}, {lognormal: {median, sigma}} or {empirical: PATH}',
      'workload.outputTokens: is required: {fixed: N}, {uniform: [lo, hi]}, {lognormal: {median, sigma}} or {empirical: PATH}',
    ]);
    expect(
      issuesOf(() =>
        loadWorkload(
          {
            arrival: { rate: 1, burstiness: 2 },
            numRequests: 1,
            inputTokens: { fixed: 1, uniform: [1, 2] },
            outputTokens: 'x',
          },
          ctx,
        ),
      ),
    ).toEqual([
      'workload.arrival.burstiness: applies to process gamma only (process is poisson)',
      'workload.inputTokens: give exactly one of fixed, uniform, lognormal, empirical (got fixed and uniform)',
      'workload.outputTokens: expected {fixed: N}, {uniform: [lo, hi]}, {lognormal: {median, sigma}} or {empirical: PATH}, got "x"',
    ]);
  });

  it('takes stages without an arrival section (Poisson by default)', () => {
    const w = loadWorkload({ stages: [{ rate: 20, durationS: 5 }], inputTokens: 1, outputTokens: 1 }, ctx);
    expect(w.n).toBeGreaterThan(50);
    expect(w.arrivalS[w.n - 1]).toBeLessThan(5);
    expect(Array.from(w.stage!).every((s) => s === 0)).toBe(true);
  });

  it('validates stages and refuses a rate beside them', () => {
    expect(
      issuesOf(() =>
        loadWorkload(
          {
            arrival: { rate: 2 },
            stages: [{ rate: -1, durationS: 10 }, { rate: 'inf', durationS: 0 }, 5],
            inputTokens: 1,
            outputTokens: 1,
          },
          ctx,
        ),
      ),
    ).toEqual([
      'workload.stages[0].rate: expected a non-negative number, got -1',
      'workload.stages[1].rate: expected a non-negative number, got "inf"',
      'workload.stages[1].durationS: expected a positive number, got 0',
      'workload.stages[2]: expected an object {rate, durationS}, got 5',
      'workload.arrival.rate: give either arrival.rate or stages (each stage has its own rate), not both',
    ]);
  });

  it('checks the trace form and the section type', () => {
    expect(issuesOf(() => loadWorkload({ trace: 3, timeScale: 0, numRequests: 5 }, ctx))).toEqual([
      'workload.numRequests: unknown key for a trace workload; expected one of trace, startS, durationS, timeScale, maxRequests',
      'workload.trace: expected a file path, got 3',
      'workload.timeScale: expected a positive number, got 0',
    ]);
    expect(issuesOf(() => loadWorkload('trace.csv', { ...ctx, path: 'spec.workload' }))).toEqual([
      'spec.workload: expected an object: {trace: PATH} or a generator {arrival, numRequests, inputTokens, outputTokens}, got "trace.csv"',
    ]);
  });
});

describe('workloadToCsv', () => {
  it('round-trips a trace with ids, tenants, groups, stages and names that need quoting', () => {
    const text =
      'arrival_time_s,input_tokens,output_tokens,request_id,tenant,prefix_group,prefix_tokens,stage\n' +
      '0.1,5,1,"a,1","ten ""x""",g,3,0\n' +
      '0.30000000000000004,6,2,b,,,,1\n' +
      '1e-7,7,3,c,"multi\nline",g,7,\n';
    const w = parseTrace(text, 'rt.csv');
    const back = parseTrace(workloadToCsv(w), 'back.csv');
    expect(rows(back)).toEqual(rows(w));
    expect(back.arrivalS[0]).toBe(1e-7);
  });

  it('round-trips a generated workload bit for bit', () => {
    const w = generateWorkload(
      {
        arrival: { process: 'gamma', burstiness: 0.3 },
        stages: [
          { rate: 7, durationS: 100 },
          { rate: 2, durationS: 100 },
        ],
        inputTokens: { lognormal: { median: 400, sigma: 1.2, max: 8000 } },
        outputTokens: { uniform: [1, 300] },
        prefixGroups: { count: 5, tokens: 128 },
        tenants: { count: 2 },
      },
      17,
    );
    const csv = workloadToCsv(w);
    expect(csv.split('\n')[0]).toBe(
      'arrival_time_s,input_tokens,output_tokens,tenant,prefix_group,prefix_tokens,stage',
    );
    expect(rows(parseTrace(csv, 'gen.csv'))).toEqual(rows(w));
  });
});

describe('workloadStats', () => {
  it('computes counts, duration, rate and numpy-style percentiles', () => {
    const w = parseTrace(
      'arrival_time_s,input_tokens,output_tokens,prefix_group,prefix_tokens\n0,10,1,g,5\n1,20,2,,\n2,30,3,g,5\n4,40,4,,\n',
      's.csv',
    );
    const s = workloadStats(w);
    expect(s.count).toBe(4);
    expect(s.durationS).toBe(4);
    expect(s.meanRatePerS).toBe(0.75);
    const { p99, ...rest } = s.inputTokens;
    expect(rest).toEqual({ mean: 25, min: 10, max: 40, p50: 25, p90: 37 });
    expect(p99).toBeCloseTo(39.7, 12);
    expect(s.totalOutputTokens).toBe(10);
    expect(s.prefixGroups).toBe(1);
    expect(s.prefixTokenFraction).toBe(0.1);
    expect(
      workloadStats(parseTrace('arrival_time_s,input_tokens,output_tokens\n3,1,1\n', 'one.csv')).meanRatePerS,
    ).toBeNull();
  });
});

describe('the Azure conversation trace (../shared/data)', () => {
  const present = fs.existsSync(AZURE_CONV);

  it('loads 19,366 requests over about an hour (or a generated trace of that size when the data is absent)', () => {
    let file = AZURE_CONV;
    let expectedN = 19_366;
    let text: string | null = null;
    if (!present) {
      // Same shape, generated: Poisson at the trace's mean rate, written in the Azure format.
      const g = generateWorkload(
        {
          arrival: { rate: 5.53 },
          numRequests: expectedN,
          inputTokens: { lognormal: { median: 1020, sigma: 0.9 } },
          outputTokens: { uniform: [7, 1000] },
        },
        1,
      );
      const pad = (x: number, n = 2): string => String(x).padStart(n, '0');
      const lines = ['TIMESTAMP,ContextTokens,GeneratedTokens'];
      for (let i = 0; i < g.n; i++) {
        const t = g.arrivalS[i] + 18 * 3600;
        const whole = Math.floor(t);
        const frac = String(Math.floor((t - whole) * 1e7)).padStart(7, '0');
        const hms = `${pad(Math.floor(whole / 3600))}:${pad(Math.floor(whole / 60) % 60)}:${pad(whole % 60)}`;
        lines.push(`2023-11-16 ${hms}.${frac},${g.inputTokens[i]},${g.outputTokens[i]}`);
      }
      text = lines.join('\n');
      file = 'generated-azure.csv';
      expectedN = g.n;
    }
    const t0 = performance.now();
    const w = text === null ? readTraceFile(file) : parseTrace(text, file);
    const ms = performance.now() - t0;
    const s = workloadStats(w);
    console.log(
      `${present ? 'Azure conv trace' : 'generated Azure-format trace (shared data absent)'}: ${w.n} requests, ` +
        `${s.durationS.toFixed(1)} s, ${s.meanRatePerS!.toFixed(2)} req/s, loaded in ${ms.toFixed(1)} ms`,
    );
    expect(w.n).toBe(expectedN);
    expect(w.arrivalS[0]).toBe(0);
    expect(s.durationS).toBeGreaterThan(3300);
    expect(s.durationS).toBeLessThan(3700);
    if (present) {
      // First two rows: 18:15:46.6805900 and 18:15:50.9951690.
      expect(w.arrivalS[1]).toBeCloseTo(4.314579, 9);
    }
  });
});
