import { describe, expect, it } from 'vitest';
import { Xoshiro128ss } from '@kvplan/core';
import { simulate } from '../src/engine/simulation';
import { specOf, workloadOf, type Row, type SpecOverrides } from './helpers';

/** Random traffic with shared prefixes, long prompts (chunked prefill) and bursts. */
function traffic(seed: number, n: number, rate: number): Row[] {
  const rng = new Xoshiro128ss(seed);
  let t = 0;
  return Array.from({ length: n }, () => {
    t += rng.next() < 0.1 ? 0 : rng.exponential(rate);
    const group = rng.next() < 0.4 ? rng.int(0, 5) : -1;
    const input = rng.next() < 0.1 ? rng.int(3000, 7000) : rng.int(1, 1500);
    return { t, in: input, out: rng.int(1, 600), group, prefix: group >= 0 ? Math.min(input, 700) : 0 };
  });
}

const cases: Array<[string, number, number, number, SpecOverrides]> = [
  ['roomy', 1, 1500, 10, { engine: { numGpuBlocks: 50000 } }],
  ['memory pressure (preemptions)', 2, 1500, 30, { engine: { numGpuBlocks: 1200 } }],
  [
    'tight token budget',
    3,
    1000,
    20,
    { engine: { numGpuBlocks: 4000, maxNumBatchedTokens: 512, maxNumSeqs: 64 } },
  ],
  [
    'no prefix caching, block size 32',
    4,
    1000,
    25,
    { engine: { numGpuBlocks: 900, blockSize: 32, enablePrefixCaching: false } },
  ],
  [
    'three replicas, round robin',
    5,
    2000,
    60,
    { replicas: 3, router: 'round-robin', engine: { numGpuBlocks: 1500 } },
  ],
  ['two replicas, least loaded', 6, 2000, 50, { replicas: 2, engine: { numGpuBlocks: 1000 } }],
  ['overload: a preemption every few steps', 8, 2500, 80, { engine: { numGpuBlocks: 700, maxNumSeqs: 128 } }],
  [
    'sparse arrivals (long fast-forwards), time series',
    7,
    300,
    0.5,
    { timeseriesResolutionS: 2, engine: { numGpuBlocks: 3000 } },
  ],
];

describe('decode lane (fast path) equals single-stepping every request', () => {
  it.each(cases)('%s', (_name, seed, n, rate, over) => {
    const w = workloadOf(traffic(seed, n, rate));
    const fast = simulate(specOf(w, over));
    const slow = simulate(specOf(w, over), { decodeLane: false });
    expect(JSON.stringify(fast.result)).toBe(JSON.stringify(slow.result));
    for (const col of [
      'firstTokenS',
      'finishS',
      'preemptions',
      'prefixHitTokens',
      'numOutput',
      'replica',
    ] as const)
      expect(Array.from(fast.requests[col])).toEqual(Array.from(slow.requests[col]));
    expect(fast.leakedBlocks.every((b) => b === 0)).toBe(true);
    expect(fast.result.completed).toBe(n);
  });

  it('fast-forwards: long decode runs between arrivals take far fewer events than steps', () => {
    const w = workloadOf(traffic(7, 300, 0.5));
    const spec = specOf(w, { engine: { numGpuBlocks: 3000 } });
    let fastEvents = 0;
    let slowEvents = 0;
    simulate(spec, { onEvent: () => fastEvents++ });
    simulate(spec, { decodeLane: false, onEvent: () => slowEvents++ });
    expect(fastEvents).toBeLessThan(slowEvents / 5);
  });

  it('exercises what it claims to: preemptions and prefix hits happen in these cases', () => {
    const pressure = simulate(specOf(workloadOf(traffic(2, 1500, 30)), cases[1][4]));
    expect(pressure.result.preemptions).toBeGreaterThan(10);
    expect(pressure.requests.prefixHitTokens.some((h) => h > 0)).toBe(true);
  });
});
