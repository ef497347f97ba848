import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { InputError } from '@kvplan/core';
import { generateWorkload, readTraceFile, workloadStats, type GeneratorSpec } from '../src/workload';
import type { Workload } from '../src/types';

const FIX = path.join(__dirname, 'fixtures', 'workload');

function gaps(w: Workload): Float64Array {
  const g = new Float64Array(w.n - 1);
  for (let i = 1; i < w.n; i++) g[i - 1] = w.arrivalS[i] - w.arrivalS[i - 1];
  return g;
}

function meanVar(a: ArrayLike<number>): { mean: number; cv2: number } {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i];
  const mean = s / a.length;
  let v = 0;
  for (let i = 0; i < a.length; i++) v += (a[i] - mean) ** 2;
  v /= a.length - 1;
  return { mean, cv2: v / (mean * mean) };
}

function median(a: Int32Array): number {
  const s = a.slice().sort();
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}

const base: GeneratorSpec = {
  arrival: { process: 'poisson', rate: 10 },
  numRequests: 20_000,
  inputTokens: { fixed: 100 },
  outputTokens: { fixed: 10 },
};

describe('arrival processes', () => {
  it('Poisson: the first request at 0, mean rate within 3 % and exponential gaps (CV^2 near 1)', () => {
    const w = generateWorkload(base, 7);
    expect(w.n).toBe(20_000);
    expect(w.arrivalS[0]).toBe(0);
    const rate = workloadStats(w).meanRatePerS!;
    expect(Math.abs(rate / 10 - 1)).toBeLessThan(0.03);
    expect(Math.abs(meanVar(gaps(w)).cv2 - 1)).toBeLessThan(0.08);
    expect(gaps(w).every((g) => g >= 0)).toBe(true);
  });

  it('gamma: keeps the mean rate and sets the squared CV of gaps to 1/burstiness', () => {
    for (const burstiness of [0.25, 1, 4]) {
      const w = generateWorkload({ ...base, arrival: { process: 'gamma', rate: 10, burstiness } }, 11);
      const { mean, cv2 } = meanVar(gaps(w));
      expect(Math.abs(mean * 10 - 1)).toBeLessThan(0.05);
      expect(Math.abs(cv2 * burstiness - 1)).toBeLessThan(0.15);
    }
  });

  it('constant: exactly 1/rate apart', () => {
    const w = generateWorkload({ ...base, arrival: { process: 'constant', rate: 3 }, numRequests: 1000 }, 1);
    for (let i = 0; i < w.n; i++) expect(w.arrivalS[i]).toBe(i / 3);
  });

  it('rate inf sends every request at t = 0', () => {
    const w = generateWorkload(
      { ...base, arrival: { process: 'poisson', rate: Infinity }, numRequests: 50 },
      1,
    );
    expect(w.n).toBe(50);
    expect(Array.from(w.arrivalS).every((t) => t === 0)).toBe(true);
  });

  it('stages run in sequence, idle stages send nothing, and each request records its stage', () => {
    const spec: GeneratorSpec = {
      ...base,
      numRequests: undefined,
      arrival: { process: 'poisson' },
      stages: [
        { rate: 10, durationS: 200 },
        { rate: 0, durationS: 50 },
        { rate: 40, durationS: 100 },
      ],
    };
    const w = generateWorkload(spec, 3);
    const counts = [0, 0, 0];
    let outside = 0;
    for (let i = 0; i < w.n; i++) {
      const s = w.stage![i];
      counts[s]++;
      const t = w.arrivalS[i];
      if ((s === 0 && t >= 200) || (s === 2 && t < 250) || t >= 350) outside++;
    }
    expect(outside).toBe(0);
    expect(counts[1]).toBe(0);
    expect(Math.abs(counts[0] / 2000 - 1)).toBeLessThan(0.1);
    expect(Math.abs(counts[2] / 4000 - 1)).toBeLessThan(0.1);
  });

  it('stages with numRequests stop at whichever comes first', () => {
    const stages = [
      { rate: 10, durationS: 10 },
      { rate: 20, durationS: 10 },
    ];
    const few = generateWorkload({ ...base, arrival: {}, stages, numRequests: 30 }, 5);
    expect(few.n).toBe(30);
    expect(Array.from(few.stage!).every((s) => s === 0)).toBe(true);
    const many = generateWorkload({ ...base, arrival: {}, stages, numRequests: 100_000 }, 5);
    expect(many.n).toBeLessThan(1000);
    expect(many.arrivalS[many.n - 1]).toBeLessThan(20);
  });

  it('constant stages restart their spacing at each stage start', () => {
    const w = generateWorkload(
      {
        ...base,
        numRequests: undefined,
        arrival: { process: 'constant' },
        stages: [
          { rate: 2, durationS: 2 },
          { rate: 4, durationS: 1 },
        ],
      },
      1,
    );
    expect(Array.from(w.arrivalS)).toEqual([0, 0.5, 1, 1.5, 2.25, 2.5, 2.75]);
    expect(Array.from(w.stage!)).toEqual([0, 0, 0, 0, 1, 1, 1]);
  });
});

describe('length distributions', () => {
  it('uniform stays within [lo, hi] and reaches both ends', () => {
    const w = generateWorkload(
      { ...base, inputTokens: { uniform: [5, 9] }, outputTokens: { uniform: [1, 1] } },
      2,
    );
    const seen = new Set(w.inputTokens);
    expect([...seen].sort()).toEqual([5, 6, 7, 8, 9]);
    expect(Array.from(w.outputTokens).every((x) => x === 1)).toBe(true);
  });

  it('uniform with a range ratio spans floor(mean(1-r))..floor(mean(1+r)) as vLLM random does', () => {
    const w = generateWorkload({ ...base, inputTokens: { uniform: { mean: 100, rangeRatio: 0.25 } } }, 2);
    let lo = Infinity;
    let hi = -Infinity;
    for (const x of w.inputTokens) {
      lo = Math.min(lo, x);
      hi = Math.max(hi, x);
    }
    expect([lo, hi]).toEqual([75, 125]);
  });

  it('lognormal: integers >= 1 with the requested median, capped at max', () => {
    const w = generateWorkload({ ...base, inputTokens: { lognormal: { median: 500, sigma: 0.8 } } }, 4);
    expect(Math.abs(median(w.inputTokens) / 500 - 1)).toBeLessThan(0.03);
    expect(Array.from(w.inputTokens).every((x) => Number.isInteger(x) && x >= 1)).toBe(true);
    const capped = generateWorkload(
      { ...base, inputTokens: { lognormal: { median: 2, sigma: 3, max: 50 } } },
      4,
    );
    const xs = Array.from(capped.inputTokens);
    expect(Math.max(...xs)).toBe(50);
    expect(Math.min(...xs)).toBe(1);
  });

  it('empirical samples the matching column of a trace (relative to baseDir)', () => {
    const trace = readTraceFile(path.join(FIX, 'azure.csv'));
    const w = generateWorkload(
      { ...base, inputTokens: { empirical: 'azure.csv' }, outputTokens: { empirical: 'azure.csv' } },
      9,
      {
        baseDir: FIX,
      },
    );
    expect(new Set(w.inputTokens)).toEqual(new Set(trace.inputTokens));
    expect(new Set(w.outputTokens)).toEqual(new Set(trace.outputTokens));
  });

  it('a missing empirical trace is reported by the path given in the spec', () => {
    try {
      generateWorkload(
        { ...base, inputTokens: { empirical: 'missing.csv' }, outputTokens: { empirical: 'kvplan.jsonl' } },
        1,
        { baseDir: FIX },
      );
      expect.unreachable();
    } catch (err) {
      expect(err).toBeInstanceOf(InputError);
      expect((err as InputError).issues).toEqual([
        { path: 'missing.csv', message: 'the trace file does not exist' },
      ]);
    }
  });
});

describe('prefix groups and tenants', () => {
  it('assigns groups uniformly and shares min(tokens, inputTokens) leading tokens', () => {
    const w = generateWorkload(
      {
        ...base,
        inputTokens: { uniform: [10, 200] },
        prefixGroups: { count: 4, tokens: 64 },
        tenants: { count: 3 },
      },
      8,
    );
    expect(w.prefixGroupNames).toHaveLength(4);
    const perGroup = [0, 0, 0, 0];
    const perTenant = [0, 0, 0];
    let wrongPrefix = 0;
    for (let i = 0; i < w.n; i++) {
      perGroup[w.prefixGroup[i]]++;
      perTenant[w.tenant[i]]++;
      if (w.prefixTokens[i] !== Math.min(64, w.inputTokens[i])) wrongPrefix++;
    }
    expect(wrongPrefix).toBe(0);
    expect(Array.from(w.prefixTokens).some((p) => p < 64)).toBe(true);
    for (const c of perGroup) expect(Math.abs(c / 5000 - 1)).toBeLessThan(0.06);
    for (const c of perTenant) expect(Math.abs(c / (20_000 / 3) - 1)).toBeLessThan(0.06);
    expect(w.tenantNames).toHaveLength(3);
  });
});

describe('determinism', () => {
  const spec: GeneratorSpec = {
    arrival: { process: 'gamma', rate: 5, burstiness: 0.5 },
    numRequests: 2000,
    inputTokens: { lognormal: { median: 300, sigma: 1 } },
    outputTokens: { uniform: [1, 500] },
    prefixGroups: { count: 3, tokens: 100 },
    tenants: { count: 2 },
  };

  it('the same seed gives identical arrays; another seed differs', () => {
    const a = generateWorkload(spec, 42);
    const b = generateWorkload(spec, 42);
    expect(b).toEqual(a);
    const c = generateWorkload(spec, 43);
    expect(Array.from(c.arrivalS)).not.toEqual(Array.from(a.arrivalS));
    expect(Array.from(c.inputTokens)).not.toEqual(Array.from(a.inputTokens));
    expect(Array.from(c.prefixGroup)).not.toEqual(Array.from(a.prefixGroup));
  });

  it('changing one column distribution leaves the other columns as they were', () => {
    const a = generateWorkload(spec, 42);
    const b = generateWorkload({ ...spec, outputTokens: { fixed: 7 } }, 42);
    expect(b.arrivalS).toEqual(a.arrivalS);
    expect(b.inputTokens).toEqual(a.inputTokens);
    expect(b.prefixGroup).toEqual(a.prefixGroup);
    expect(b.tenant).toEqual(a.tenant);
    expect(Array.from(b.outputTokens).every((x) => x === 7)).toBe(true);
  });

  it('generates a million requests quickly into compact columns', () => {
    const t0 = performance.now();
    const w = generateWorkload(
      {
        arrival: { process: 'poisson', rate: 15 },
        numRequests: 1_000_000,
        inputTokens: { uniform: [128, 2048] },
        outputTokens: { uniform: [64, 1024] },
      },
      1,
    );
    const ms = performance.now() - t0;
    console.log(`generated 1,000,000 requests in ${ms.toFixed(0)} ms`);
    expect(w.n).toBe(1_000_000);
    expect(w.arrivalS.byteLength + w.inputTokens.byteLength * 5).toBe(28_000_000);
  });
});
