import { describe, expect, it } from 'vitest';
import { EventQueue } from '../src/core/event-queue';
import { Xoshiro128ss } from '@kvplan/core';
import { simulate } from '../src/engine/simulation';
import { FIXED_STEP, specOf, workloadOf, type Row, type SpecOverrides } from './helpers';

const fixed = (rows: Row[], engine: SpecOverrides['engine'] = {}) =>
  simulate(specOf(workloadOf(rows), { timeModel: FIXED_STEP(1), engine }));

describe('V1 scheduler on hand-computed cases (every step takes 1 s)', () => {
  it('admits in arrival order, chunks a long prefill and serves running requests first', () => {
    // Budget 100. Step 1: A takes 100 of its 150 prompt tokens, B must wait (no budget).
    // Step 2: A's last 50, then B's 30. Both sample their first token at t=2.
    const run = fixed(
      [
        { t: 0, in: 150, out: 3 },
        { t: 0, in: 30, out: 2 },
      ],
      { maxNumBatchedTokens: 100 },
    );
    const q = run.requests;
    expect(Array.from(q.firstTokenS)).toEqual([2, 2]);
    expect(Array.from(q.finishS)).toEqual([4, 3]);
    expect(run.result.completed).toBe(2);
    expect(run.result.mean_ttft_ms).toBeCloseTo(2000, 9);
    // A: 2 gaps of 1 s; B: 1 gap of 1 s.
    expect(run.result.mean_itl_ms).toBeCloseTo(1000, 9);
    expect(run.result.mean_tpot_ms).toBeCloseTo(1000, 9);
  });

  it('respects maxNumSeqs', () => {
    const run = fixed(
      [
        { t: 0, in: 10, out: 3 },
        { t: 0, in: 10, out: 3 },
      ],
      { maxNumSeqs: 1 },
    );
    expect(Array.from(run.requests.firstTokenS)).toEqual([1, 4]);
  });

  it('preempts the newest running request when blocks run out, and it recomputes later', () => {
    // 4 blocks of 16. A (32 tokens) takes 2, B (16) takes 1. In step 2 both need a new block,
    // one is free: A (older) gets it, B (newest) is preempted; it cannot come back until A ends.
    const run = fixed(
      [
        { t: 0, in: 32, out: 20 },
        { t: 0, in: 16, out: 20 },
      ],
      { numGpuBlocks: 4, maxNumBatchedTokens: 100 },
    );
    const q = run.requests;
    expect(Array.from(q.preemptions)).toEqual([0, 1]);
    expect(q.finishS[0]).toBe(20);
    // B's first token came before the preemption; it resumes at t=20 with 17 tokens to recompute
    // (its cached block was evicted when A needed a 4th block), then decodes 18 more tokens.
    expect(q.firstTokenS[1]).toBe(1);
    expect(q.finishS[1]).toBe(39);
    expect(run.result.preemptions).toBe(1);
    expect(run.result.kv_peak_used_blocks).toBe(4);
  });

  it('hits the prefix cache on full blocks only, capped at prompt length minus one', () => {
    const run = fixed([
      { t: 0, in: 100, out: 2, group: 0, prefix: 100 },
      { t: 5, in: 100, out: 2, group: 0, prefix: 100 },
      { t: 10, in: 96, out: 2, group: 0, prefix: 96 },
      { t: 15, in: 100, out: 2, group: 1, prefix: 100 },
      { t: 20, in: 100, out: 2, group: 0, prefix: 40 },
    ]);
    // 6 full blocks of A are cached; B hits all 6 (96 of 99 allowed tokens); C (96 tokens) may
    // hit only floor(95/16) = 5 blocks; group 1 is cold; E shares only 2 full blocks (40 tokens).
    expect(Array.from(run.requests.prefixHitTokens)).toEqual([0, 96, 80, 0, 32]);
  });

  it('never caches when prefix caching is off', () => {
    const run = fixed(
      [
        { t: 0, in: 100, out: 2, group: 0, prefix: 100 },
        { t: 5, in: 100, out: 2, group: 0, prefix: 100 },
      ],
      { enablePrefixCaching: false },
    );
    expect(Array.from(run.requests.prefixHitTokens)).toEqual([0, 0]);
  });

  it('fails a request longer than maxModelLen instead of running it', () => {
    const run = fixed(
      [
        { t: 0, in: 100, out: 2 },
        { t: 0, in: 8000, out: 500 },
      ],
      { maxModelLen: 8192 },
    );
    expect(run.result.completed).toBe(1);
    expect(run.result.failed).toBe(1);
  });
});

describe('async scheduling (vLLM 0.14+ default; every step takes 1 s)', () => {
  // A decodes in steps [0,1], [1,2], ...; B arrives at 1.5, during step [1,2].
  const rows: Row[] = [
    { t: 0, in: 10, out: 10 },
    { t: 1.5, in: 10, out: 2 },
    { t: 30, in: 10, out: 2 },
  ];

  it('a request arriving during a step joins the step after next (the next was planned already)', () => {
    const on = fixed(rows).requests;
    const off = fixed(rows, { asyncScheduling: false }).requests;
    // Without: B runs in [2,3]. With: step [2,3] was planned at t=1, so B runs in [3,4].
    expect(Array.from(off.firstTokenS)).toEqual([1, 3, 31]);
    expect(Array.from(on.firstTokenS)).toEqual([1, 4, 31]);
    expect(Array.from(on.finishS)).toEqual([10, 5, 32]);
    // The decode lane (on by default) and the explicit scheduler agree.
    const explicit = simulate(specOf(workloadOf(rows), { timeModel: FIXED_STEP(1) }), { decodeLane: false });
    expect(Array.from(explicit.requests.firstTokenS)).toEqual([1, 4, 31]);
  });

  it('takes a late arrival at once when the step after the one in flight would be empty', () => {
    // A's last token is in step [1,2]; nothing was planned after it, so B (arrived at 1.5) runs in [2,3].
    const run = fixed([
      { t: 0, in: 10, out: 2 },
      { t: 1.5, in: 10, out: 2 },
    ]);
    expect(Array.from(run.requests.firstTokenS)).toEqual([1, 3]);
  });

  it('is ignored under pipeline parallelism', () => {
    const spec = (asyncScheduling: boolean) =>
      specOf(workloadOf(rows), {
        timeModel: FIXED_STEP(1),
        pipelineParallel: 2,
        engine: { asyncScheduling },
      });
    expect(Array.from(simulate(spec(true)).requests.firstTokenS)).toEqual(
      Array.from(simulate(spec(false)).requests.firstTokenS),
    );
  });
});

function randomRows(seed: number, n: number, rate: number): Row[] {
  const rng = new Xoshiro128ss(seed);
  const rows: Row[] = [];
  let t = 0;
  for (let i = 0; i < n; i++) {
    t += rng.exponential(rate);
    const group = rng.next() < 0.5 ? rng.int(0, 9) : -1;
    const input = rng.int(16, 2000);
    rows.push({ t, in: input, out: rng.int(1, 400), group, prefix: group >= 0 ? Math.min(input, 512) : 0 });
  }
  return rows;
}

describe('simulation invariants', () => {
  it('is deterministic: the same spec gives byte-identical results', () => {
    const rows = randomRows(7, 3000, 20);
    const a = simulate(specOf(workloadOf(rows), { engine: { numGpuBlocks: 3000 } })).result;
    const b = simulate(specOf(workloadOf(rows), { engine: { numGpuBlocks: 3000 } })).result;
    expect(JSON.stringify(a)).toBe(JSON.stringify(b));
    expect(a.preemptions).toBeGreaterThan(0);
  });

  it('completes every request and accounts every token, under memory pressure', () => {
    const rows = randomRows(3, 2000, 30);
    const run = simulate(specOf(workloadOf(rows), { engine: { numGpuBlocks: 1500 } }));
    expect(run.result.completed).toBe(rows.length);
    expect(run.result.total_output_tokens).toBe(rows.reduce((s, r) => s + r.out, 0));
    expect(run.result.kv_peak_used_blocks).toBeLessThanOrEqual(1500);
    for (let r = 0; r < rows.length; r++) {
      expect(run.requests.firstTokenS[r]).toBeGreaterThan(rows[r].t);
      expect(run.requests.finishS[r]).toBeGreaterThanOrEqual(run.requests.firstTokenS[r]);
    }
  });
});

describe('event queue', () => {
  it('pops in (time, priority, insertion) order and time never goes backwards', () => {
    const rng = new Xoshiro128ss(11);
    const q = new EventQueue();
    // Reference: the pending events as a plain list, the expected next one found by a scan.
    const pending: Array<{ t: number; p: number; seq: number }> = [];
    let seq = 0;
    const out = { time: 0, kind: 0, target: 0 };
    let last = -Infinity;
    const popOne = () => {
      let best = 0;
      for (let i = 1; i < pending.length; i++) {
        const a = pending[i];
        const b = pending[best];
        if (a.t < b.t || (a.t === b.t && (a.p < b.p || (a.p === b.p && a.seq < b.seq)))) best = i;
      }
      const expected = pending.splice(best, 1)[0];
      expect(q.pop(out)).toBe(true);
      expect(out.target).toBe(expected.seq);
      expect(out.time).toBeGreaterThanOrEqual(last);
      last = out.time;
    };
    for (let round = 0; round < 3000; round++) {
      if (rng.next() < 0.6 || pending.length === 0) {
        const t = q.now + Math.floor(rng.next() * 4);
        const p = rng.int(0, 2);
        pending.push({ t, p, seq });
        q.push(t, p, 0, seq++);
      } else popOne();
    }
    while (pending.length > 0) popOne();
    expect(q.pop(out)).toBe(false);
    expect(() => q.push(q.now - 1, 0, 0, 0)).toThrow(/past/);
  });
});
