import * as path from 'node:path';
import { InputError, IssueCollector } from '@kvplan/core';
import { Xoshiro128ss, type Rng } from '@kvplan/core';
import type { Workload } from '../types';
import { WorkloadBuilder } from './builder';
import { readTraceFile } from './trace';
import { FILES_NOT_READ } from '../simulation-spec/files';
import { MAX_GENERATED_REQUESTS, validateGenerator } from './validate';

/** Samples already loaded for an `{empirical}` distribution. */
export interface EmpiricalSource {
  values: ArrayLike<number>;
  /** Where they came from (for messages). */
  source: string;
}

/**
 * A length distribution (tokens per request), always integers >= 1.
 * - `{fixed: N}`
 * - `{uniform: [lo, hi]}`: integers, both ends included.
 * - `{uniform: {mean, rangeRatio}}`: as vLLM's random dataset, integers in
 *   [floor(mean x (1 - rangeRatio)), floor(mean x (1 + rangeRatio))] (lower end at least 1).
 * - `{lognormal: {median, sigma, max?}}`: round(median x exp(sigma x Z)), at least 1, at most max.
 * - `{empirical: PATH}`: uniform draws (with replacement) from the matching column (input_tokens
 *   or output_tokens) of a trace in any supported format; PATH is relative to the spec's
 *   directory. Input and output are drawn independently, so their correlation in the trace is not
 *   kept.
 */
export type LengthDist =
  | { fixed: number }
  | { uniform: [number, number] | { mean: number; rangeRatio: number } }
  | { lognormal: { median: number; sigma: number; max?: number } }
  | { empirical: string | EmpiricalSource };

export type ArrivalProcess = 'poisson' | 'gamma' | 'constant';

/**
 * The generator form of the spec's `workload` section.
 *
 * Arrivals: the first request arrives at t = 0 (as vLLM's benchmark_serving sends its first
 * request at once); each next one after a gap drawn at the current rate:
 * - `poisson`: exponential gaps with mean 1/rate;
 * - `gamma`: Gamma(shape = burstiness, scale = 1 / (rate x burstiness)) gaps, as benchmark_serving
 *   (mean 1/rate, squared coefficient of variation 1/burstiness; burstiness 1 is Poisson);
 * - `constant`: exactly 1/rate apart;
 * - `rate: Infinity` (`inf` in a spec): every request at t = 0, as benchmark_serving's `inf`.
 *
 * Stages: each `{rate, durationS}` runs in sequence, the next starting when the previous one's
 * time is up (a stage of rate 0 is an idle period). A gap that would end at or past its stage's end
 * is dropped and the next stage draws its first gap from its own start. With stages,
 * `numRequests` is optional; when both are given generation stops at whichever comes first
 * (the last stage's end or numRequests requests). Each request records its stage index.
 *
 * `prefixGroups: {count, tokens}`: each request joins one of `count` groups uniformly at random;
 * its first min(tokens, inputTokens) tokens are the group's shared prefix.
 * `tenants: {count}`: each request belongs to one of `count` tenants uniformly at random.
 */
export interface GeneratorSpec {
  /** Optional when `stages` are given (the process then defaults to poisson). */
  arrival?: { process?: ArrivalProcess; rate?: number; burstiness?: number };
  stages?: Array<{ rate: number; durationS: number }>;
  numRequests?: number;
  inputTokens: LengthDist;
  outputTokens: LengthDist;
  prefixGroups?: { count: number; tokens: number };
  tenants?: { count: number };
}

/**
 * Derives the seed of one named random stream from the run's seed, so each column (arrivals,
 * input lengths, output lengths, prefix groups, tenants) has its own stream: changing one
 * distribution leaves the others' draws as they were.
 */
export function streamSeed(seed: number, stream: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < stream.length; i++) h = Math.imul(h ^ stream.charCodeAt(i), 0x01000193);
  const lo = seed >>> 0;
  const hi = Math.floor(seed / 4294967296) >>> 0;
  h = mix32(h ^ lo);
  h = mix32(h ^ hi ^ 0x5bd1e995);
  return h >>> 0;
}

function mix32(x: number): number {
  x = Math.imul(x ^ (x >>> 16), 0x7feb352d);
  x = Math.imul(x ^ (x >>> 15), 0x846ca68b);
  return (x ^ (x >>> 16)) >>> 0;
}

/**
 * Generates a workload from a generator spec, seeded. `opts.baseDir` resolves `{empirical: PATH}`
 * paths (already-loaded `{empirical: {values, source}}` need none). Throws InputError naming
 * every bad field (paths start with `opts.path`, default `workload`).
 */
export function generateWorkload(
  gen: GeneratorSpec,
  seed: number,
  opts: { baseDir?: string; path?: string; files?: boolean } = {},
): Workload {
  const where = opts.path ?? 'workload';
  const issues = new IssueCollector();
  const g = validateGenerator(gen, where, issues);
  issues.throwIfAny();
  const spec = g!;
  // Both columns may sample the same trace: read it once.
  const traces = new Map<string, Workload>();
  const sampler = (column: 'inputTokens' | 'outputTokens'): ((rng: Rng) => number) => {
    try {
      return lengthSampler(
        spec[column],
        column,
        opts.files === false ? null : opts.baseDir,
        `${where}.${column}`,
        traces,
      );
    } catch (err) {
      if (!(err instanceof InputError)) throw err;
      for (const i of err.issues) issues.add(i.path, i.message);
      return () => 1;
    }
  };
  const input = sampler('inputTokens');
  const output = sampler('outputTokens');
  issues.throwIfAny();

  const arrivalRng = new Xoshiro128ss(streamSeed(seed, 'arrival'));
  const inputRng = new Xoshiro128ss(streamSeed(seed, 'inputTokens'));
  const outputRng = new Xoshiro128ss(streamSeed(seed, 'outputTokens'));
  const groupRng = new Xoshiro128ss(streamSeed(seed, 'prefixGroups'));
  const tenantRng = new Xoshiro128ss(streamSeed(seed, 'tenants'));

  const proc = spec.arrival?.process ?? 'poisson';
  const burstiness = spec.arrival?.burstiness ?? 1;
  const stages = spec.stages ?? [{ rate: spec.arrival!.rate!, durationS: Infinity }];
  const limit = spec.numRequests ?? MAX_GENERATED_REQUESTS;

  const gap = (rate: number): number => {
    switch (proc) {
      case 'poisson':
        return arrivalRng.exponential(rate);
      case 'gamma':
        return arrivalRng.gamma(burstiness, 1 / (rate * burstiness));
      case 'constant':
        return 1 / rate;
    }
  };

  const b = new WorkloadBuilder({
    capacity: Math.min(limit, 1 << 20),
    stage: spec.stages !== undefined,
  });
  let stageStart = 0;
  for (let s = 0; s < stages.length && b.n < limit; s++) {
    const { rate, durationS } = stages[s];
    const end = stageStart + durationS;
    if (rate === Infinity) {
      while (b.n < limit) b.push(stageStart, 0, 0, -1, 0, -1, s);
    } else if (rate > 0) {
      // Constant gaps are placed by multiplication so they stay exactly 1/rate apart.
      let k = 0;
      let t = b.n === 0 ? stageStart : stageStart + gap(rate);
      if (proc === 'constant' && b.n > 0) k = 1;
      while (t < end && b.n < limit) {
        b.push(t, 0, 0, -1, 0, -1, s);
        if (proc === 'constant') t = stageStart + ++k / rate;
        else t += gap(rate);
      }
      if (b.n >= limit && spec.numRequests === undefined) {
        throw new InputError([
          {
            path: `${where}.stages`,
            message: `the stages would generate more than ${MAX_GENERATED_REQUESTS} requests; shorten them or set numRequests`,
          },
        ]);
      }
    }
    stageStart = end;
  }

  const n = b.n;
  for (let i = 0; i < n; i++) b.inputTokens[i] = input(inputRng);
  for (let i = 0; i < n; i++) b.outputTokens[i] = output(outputRng);
  if (spec.prefixGroups) {
    const { count, tokens } = spec.prefixGroups;
    for (let g = 0; g < count; g++) b.prefixGroups.id(`group-${g}`);
    for (let i = 0; i < n; i++) {
      b.prefixGroup[i] = groupRng.int(0, count - 1);
      b.prefixTokens[i] = Math.min(tokens, b.inputTokens[i]);
    }
  }
  if (spec.tenants) {
    const { count } = spec.tenants;
    for (let t = 0; t < count; t++) b.tenants.id(`tenant-${t}`);
    for (let i = 0; i < n; i++) b.tenant[i] = tenantRng.int(0, count - 1);
  }
  return b.build();
}

/** A function drawing one length from `dist`. Loads `{empirical: PATH}` traces (baseDir null: none). */
function lengthSampler(
  dist: LengthDist,
  column: 'inputTokens' | 'outputTokens',
  baseDir: string | undefined | null,
  where: string,
  traces: Map<string, Workload>,
): (rng: Rng) => number {
  if ('fixed' in dist) {
    const v = dist.fixed;
    return () => v;
  }
  if ('uniform' in dist) {
    const [lo, hi] = uniformBounds(dist.uniform);
    return (rng) => rng.int(lo, hi);
  }
  if ('lognormal' in dist) {
    const { median, sigma } = dist.lognormal;
    const max = dist.lognormal.max ?? 2147483647;
    return (rng) => Math.min(max, Math.max(1, Math.round(rng.lognormal(median, sigma))));
  }
  const src = empiricalSource(dist.empirical, column, baseDir, where, traces);
  const values = src.values;
  const m = values.length;
  return (rng) => values[Math.floor(rng.next() * m)];
}

/** Integer bounds of a uniform distribution, both included. */
export function uniformBounds(u: [number, number] | { mean: number; rangeRatio: number }): [number, number] {
  if (Array.isArray(u)) return [u[0], u[1]];
  return [
    Math.max(1, Math.floor(u.mean * (1 - u.rangeRatio))),
    Math.max(1, Math.floor(u.mean * (1 + u.rangeRatio))),
  ];
}

/**
 * The sample column for `{empirical}`: given values, or the column of the trace at PATH (baseDir
 * null: files are not read, a PATH is an error).
 */
export function empiricalSource(
  e: string | EmpiricalSource,
  column: 'inputTokens' | 'outputTokens',
  baseDir: string | undefined | null,
  where: string,
  traces: Map<string, Workload> = new Map(),
): EmpiricalSource {
  if (typeof e !== 'string') {
    if (e.values.length === 0)
      throw new InputError([{ path: `${where}.empirical`, message: `no values in ${e.source}` }]);
    return e;
  }
  if (baseDir === null) throw new InputError([{ path: `${where}.empirical`, message: FILES_NOT_READ }]);
  const file = baseDir === undefined ? e : path.resolve(baseDir, e);
  let w = traces.get(file);
  if (!w) {
    w = readTraceFile(file, { displayName: e });
    traces.set(file, w);
  }
  return { values: column === 'inputTokens' ? w.inputTokens : w.outputTokens, source: e };
}
