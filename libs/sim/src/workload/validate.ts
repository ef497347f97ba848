import type { IssueCollector } from '@kvplan/core';
import type { EmpiricalSource, GeneratorSpec, LengthDist } from './generate';
import { showValue } from './issues';

/** Most requests one generator may produce (about 0.6 GB of columns). */
export const MAX_GENERATED_REQUESTS = 20_000_000;
const MAX_REQUESTS = MAX_GENERATED_REQUESTS;

/**
 * The trace form of the spec's `workload` section.
 * - `trace`: the file (kvplan CSV/JSONL, Azure CSV or Mooncake JSONL), relative to the spec.
 * - `startS`, `durationS`: keep only requests arriving in [startS, startS + durationS) of the
 *   trace's own clock, then shift them so startS becomes 0.
 * - `timeScale`: multiplies every arrival time (0.5 replays the trace twice as fast).
 * - `maxRequests`: keep at most the first N requests (after the window and the scaling).
 */
export interface TraceWorkloadSpec {
  trace: string;
  startS?: number;
  durationS?: number;
  timeScale?: number;
  maxRequests?: number;
}

export type WorkloadSpec = TraceWorkloadSpec | GeneratorSpec;

export const TRACE_KEYS = ['trace', 'startS', 'durationS', 'timeScale', 'maxRequests'];
export const GENERATOR_KEYS = [
  'arrival',
  'stages',
  'numRequests',
  'inputTokens',
  'outputTokens',
  'prefixGroups',
  'tenants',
];
const DIST_KINDS = ['fixed', 'uniform', 'lognormal', 'empirical'];
const DIST_HELP = '{fixed: N}, {uniform: [lo, hi]}, {lognormal: {median, sigma}} or {empirical: PATH}';

type Obj = Record<string, unknown>;

function isObj(v: unknown): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Reports keys of `obj` not in `allowed`, suggesting a near spelling. */
export function checkKeys(
  obj: Obj,
  allowed: string[],
  where: string,
  issues: IssueCollector,
  what = '',
): void {
  for (const k of Object.keys(obj)) {
    if (allowed.includes(k)) continue;
    const near = allowed.find((a) => a.toLowerCase() === k.toLowerCase() || editDistance(a, k) <= 2);
    issues.add(
      `${where}.${k}`,
      `unknown key${what}` +
        (near ? ` (did you mean ${near}?)` : '') +
        `; expected one of ${allowed.join(', ')}`,
    );
  }
}

function editDistance(a: string, b: string): number {
  const m = a.length;
  const n = b.length;
  let prev = Array.from({ length: n + 1 }, (_, j) => j);
  for (let i = 1; i <= m; i++) {
    const cur = [i];
    for (let j = 1; j <= n; j++) {
      cur[j] = Math.min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    prev = cur;
  }
  return prev[n];
}

interface NumOpts {
  /** Smallest allowed value; `exclusive` makes it a strict bound. */
  min: number;
  exclusive?: boolean;
  integer?: boolean;
  max?: number;
  /** Accept Infinity (and the strings inf / infinity). */
  allowInf?: boolean;
}

function describe(o: NumOpts): string {
  const kind = o.integer ? 'integer' : 'number';
  let s: string;
  if (o.min === 0 && o.exclusive) s = `a positive ${kind}`;
  else if (o.min === 0) s = `a non-negative ${kind}`;
  else if (o.min === 1 && o.integer && !o.exclusive) s = `a positive integer`;
  else s = `${o.integer ? 'an integer' : 'a number'} ${o.exclusive ? '>' : '>='} ${o.min}`;
  if (o.max !== undefined) s += ` at most ${o.max}`;
  if (o.allowInf) s += ' or inf';
  return s;
}

/** A number meeting `o`, or undefined after reporting what was expected. */
export function readNumber(
  v: unknown,
  where: string,
  issues: IssueCollector,
  o: NumOpts,
): number | undefined {
  let x: number | undefined;
  if (typeof v === 'number') x = v;
  else if (o.allowInf && typeof v === 'string' && /^\+?(inf|infinity)$/i.test(v.trim())) x = Infinity;
  const ok =
    x !== undefined &&
    !Number.isNaN(x) &&
    (Number.isFinite(x) || (o.allowInf === true && x === Infinity)) &&
    (o.exclusive ? x > o.min : x >= o.min) &&
    (!o.integer || !Number.isFinite(x) || Number.isInteger(x)) &&
    (o.max === undefined || x <= o.max);
  if (!ok) {
    issues.add(where, `expected ${describe(o)}, got ${showValue(v)}`);
    return undefined;
  }
  return x;
}

/** Validates the `workload` section; returns its typed form, or null after reporting issues. */
export function validateWorkloadSpec(
  spec: unknown,
  where: string,
  issues: IssueCollector,
): WorkloadSpec | null {
  if (!isObj(spec)) {
    issues.add(
      where,
      `expected an object: {trace: PATH} or a generator {arrival, numRequests, inputTokens, outputTokens}, got ${showValue(spec)}`,
    );
    return null;
  }
  if ('trace' in spec) return validateTraceSpec(spec, where, issues);
  return validateGenerator(spec, where, issues);
}

function validateTraceSpec(spec: Obj, where: string, issues: IssueCollector): TraceWorkloadSpec | null {
  const before = issues.issues.length;
  checkKeys(spec, TRACE_KEYS, where, issues, ' for a trace workload');
  const out: TraceWorkloadSpec = { trace: '' };
  if (typeof spec.trace !== 'string' || spec.trace.trim() === '') {
    issues.add(`${where}.trace`, `expected a file path, got ${showValue(spec.trace)}`);
  } else out.trace = spec.trace;
  if (spec.startS !== undefined) out.startS = readNumber(spec.startS, `${where}.startS`, issues, { min: 0 });
  if (spec.durationS !== undefined)
    out.durationS = readNumber(spec.durationS, `${where}.durationS`, issues, { min: 0, exclusive: true });
  if (spec.timeScale !== undefined)
    out.timeScale = readNumber(spec.timeScale, `${where}.timeScale`, issues, { min: 0, exclusive: true });
  if (spec.maxRequests !== undefined) {
    out.maxRequests = readNumber(spec.maxRequests, `${where}.maxRequests`, issues, { min: 1, integer: true });
  }
  return issues.issues.length === before ? out : null;
}

/** Validates a generator spec (the generator form of `workload`). */
export function validateGenerator(
  spec: unknown,
  where: string,
  issues: IssueCollector,
): GeneratorSpec | null {
  const before = issues.issues.length;
  if (!isObj(spec)) {
    issues.add(
      where,
      `expected a generator object {arrival, numRequests, inputTokens, outputTokens}, got ${showValue(spec)}`,
    );
    return null;
  }
  checkKeys(spec, GENERATOR_KEYS, where, issues, ' for a generated workload (or give trace: PATH)');

  const stages = validateStages(spec.stages, `${where}.stages`, issues);

  const arrival: GeneratorSpec['arrival'] = {};
  const aw = `${where}.arrival`;
  if (spec.arrival === undefined) {
    // With stages every rate is given there; the process then defaults to poisson.
    if (spec.stages === undefined)
      issues.add(aw, 'is required: {process: poisson|gamma|constant, rate, burstiness?}');
  } else if (!isObj(spec.arrival)) {
    issues.add(
      aw,
      `expected an object {process: poisson|gamma|constant, rate, burstiness?}, got ${showValue(spec.arrival)}`,
    );
  } else {
    const a = spec.arrival;
    checkKeys(a, ['process', 'rate', 'burstiness'], aw, issues);
    if (a.process !== undefined) {
      if (a.process === 'poisson' || a.process === 'gamma' || a.process === 'constant')
        arrival.process = a.process;
      else issues.add(`${aw}.process`, `expected poisson, gamma or constant, got ${showValue(a.process)}`);
    }
    if (a.rate !== undefined) {
      if (spec.stages !== undefined) {
        issues.add(
          `${aw}.rate`,
          'give either arrival.rate or stages (each stage has its own rate), not both',
        );
      } else {
        arrival.rate = readNumber(a.rate, `${aw}.rate`, issues, { min: 0, exclusive: true, allowInf: true });
      }
    } else if (spec.stages === undefined) {
      issues.add(
        `${aw}.rate`,
        'is required (requests per second, or inf for all at once) unless stages are given',
      );
    }
    if (a.burstiness !== undefined) {
      const bu = readNumber(a.burstiness, `${aw}.burstiness`, issues, { min: 0, exclusive: true });
      const proc = arrival.process ?? 'poisson';
      if (bu !== undefined && proc !== 'gamma' && !(proc === 'poisson' && bu === 1)) {
        issues.add(`${aw}.burstiness`, `applies to process gamma only (process is ${proc})`);
      } else arrival.burstiness = bu;
    }
  }

  const out: GeneratorSpec = { arrival, inputTokens: { fixed: 1 }, outputTokens: { fixed: 1 } };
  if (stages) out.stages = stages;

  if (spec.numRequests !== undefined) {
    out.numRequests = readNumber(spec.numRequests, `${where}.numRequests`, issues, {
      min: 1,
      integer: true,
      max: MAX_REQUESTS,
    });
  } else if (spec.stages === undefined) {
    issues.add(`${where}.numRequests`, 'is required (a positive integer) unless stages are given');
  } else if (stages) {
    const expected = stages.reduce((s, st) => s + st.rate * st.durationS, 0);
    if (expected > MAX_REQUESTS) {
      issues.add(
        `${where}.stages`,
        `would generate about ${Math.round(expected)} requests, more than ${MAX_REQUESTS}; shorten them or set numRequests`,
      );
    }
  }

  for (const col of ['inputTokens', 'outputTokens'] as const) {
    if (spec[col] === undefined) issues.add(`${where}.${col}`, `is required: ${DIST_HELP}`);
    else {
      const d = validateDist(spec[col], `${where}.${col}`, issues);
      if (d) out[col] = d;
    }
  }

  if (spec.prefixGroups !== undefined) {
    const pw = `${where}.prefixGroups`;
    const p = spec.prefixGroups;
    if (!isObj(p)) issues.add(pw, `expected an object {count, tokens}, got ${showValue(p)}`);
    else {
      checkKeys(p, ['count', 'tokens'], pw, issues);
      const count = readNumber(p.count, `${pw}.count`, issues, { min: 1, integer: true, max: 10_000_000 });
      const tokens = readNumber(p.tokens, `${pw}.tokens`, issues, { min: 1, integer: true, max: 2147483647 });
      if (count !== undefined && tokens !== undefined) out.prefixGroups = { count, tokens };
    }
  }
  if (spec.tenants !== undefined) {
    const tw = `${where}.tenants`;
    const t = spec.tenants;
    if (!isObj(t)) issues.add(tw, `expected an object {count}, got ${showValue(t)}`);
    else {
      checkKeys(t, ['count'], tw, issues);
      const count = readNumber(t.count, `${tw}.count`, issues, { min: 1, integer: true, max: 10_000_000 });
      if (count !== undefined) out.tenants = { count };
    }
  }
  return issues.issues.length === before ? out : null;
}

function validateStages(
  v: unknown,
  where: string,
  issues: IssueCollector,
): GeneratorSpec['stages'] | undefined {
  if (v === undefined) return undefined;
  if (!Array.isArray(v) || v.length === 0) {
    issues.add(where, `expected a non-empty list of {rate, durationS}, got ${showValue(v)}`);
    return undefined;
  }
  const out: NonNullable<GeneratorSpec['stages']> = [];
  let ok = true;
  v.forEach((st, i) => {
    const sw = `${where}[${i}]`;
    if (!isObj(st)) {
      issues.add(sw, `expected an object {rate, durationS}, got ${showValue(st)}`);
      ok = false;
      return;
    }
    checkKeys(st, ['rate', 'durationS'], sw, issues);
    // A stage may idle (rate 0) but not be infinite: it would never end.
    const rate = readNumber(st.rate, `${sw}.rate`, issues, { min: 0 });
    const durationS = readNumber(st.durationS, `${sw}.durationS`, issues, { min: 0, exclusive: true });
    if (rate === undefined || durationS === undefined) ok = false;
    else out.push({ rate, durationS });
  });
  return ok ? out : undefined;
}

function isEmpiricalSource(v: unknown): v is EmpiricalSource {
  return (
    isObj(v) &&
    typeof v.source === 'string' &&
    typeof v.values === 'object' &&
    v.values !== null &&
    'length' in v.values
  );
}

/** Validates a length distribution; a bare positive integer means `{fixed: N}`. */
export function validateDist(v: unknown, where: string, issues: IssueCollector): LengthDist | null {
  if (typeof v === 'number') {
    const n = readNumber(v, where, issues, { min: 1, integer: true, max: 2147483647 });
    return n === undefined ? null : { fixed: n };
  }
  if (!isObj(v)) {
    issues.add(where, `expected ${DIST_HELP}, got ${showValue(v)}`);
    return null;
  }
  const kinds = Object.keys(v).filter((k) => DIST_KINDS.includes(k));
  checkKeys(v, DIST_KINDS, where, issues);
  if (kinds.length !== 1) {
    if (kinds.length > 1)
      issues.add(
        where,
        `give exactly one of fixed, uniform, lognormal, empirical (got ${kinds.join(' and ')})`,
      );
    else if (Object.keys(v).length === 0) issues.add(where, `expected ${DIST_HELP}, got {}`);
    return null;
  }
  const kind = kinds[0];
  const kw = `${where}.${kind}`;
  const intOpts: NumOpts = { min: 1, integer: true, max: 2147483647 };
  switch (kind) {
    case 'fixed': {
      const n = readNumber(v.fixed, kw, issues, intOpts);
      return n === undefined ? null : { fixed: n };
    }
    case 'uniform': {
      const u = v.uniform;
      if (Array.isArray(u)) {
        if (u.length !== 2) {
          issues.add(kw, `expected [lo, hi] (two integers), got ${showValue(u)}`);
          return null;
        }
        const lo = readNumber(u[0], `${kw}[0]`, issues, intOpts);
        const hi = readNumber(u[1], `${kw}[1]`, issues, intOpts);
        if (lo === undefined || hi === undefined) return null;
        if (lo > hi) {
          issues.add(kw, `lo (${lo}) is greater than hi (${hi})`);
          return null;
        }
        return { uniform: [lo, hi] };
      }
      if (isObj(u)) {
        checkKeys(u, ['mean', 'rangeRatio'], kw, issues);
        const mean = readNumber(u.mean, `${kw}.mean`, issues, intOpts);
        const rangeRatio = readNumber(u.rangeRatio, `${kw}.rangeRatio`, issues, { min: 0, max: 0.999999 });
        if (mean === undefined || rangeRatio === undefined) return null;
        return { uniform: { mean, rangeRatio } };
      }
      issues.add(kw, `expected [lo, hi] or {mean, rangeRatio}, got ${showValue(u)}`);
      return null;
    }
    case 'lognormal': {
      const l = v.lognormal;
      if (!isObj(l)) {
        issues.add(kw, `expected {median, sigma, max?}, got ${showValue(l)}`);
        return null;
      }
      checkKeys(l, ['median', 'sigma', 'max'], kw, issues);
      const median = readNumber(l.median, `${kw}.median`, issues, { min: 0, exclusive: true });
      const sigma = readNumber(l.sigma, `${kw}.sigma`, issues, { min: 0 });
      const max = l.max === undefined ? undefined : readNumber(l.max, `${kw}.max`, issues, intOpts);
      if (median === undefined || sigma === undefined || (l.max !== undefined && max === undefined))
        return null;
      return { lognormal: max === undefined ? { median, sigma } : { median, sigma, max } };
    }
    default: {
      const e = v.empirical;
      if (typeof e === 'string' && e.trim() !== '') return { empirical: e };
      if (isEmpiricalSource(e)) return { empirical: e };
      issues.add(kw, `expected a trace file path, got ${showValue(e)}`);
      return null;
    }
  }
}
