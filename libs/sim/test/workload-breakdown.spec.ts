import { describe, expect, it } from 'vitest';
import { generateWorkload, parseTrace, workloadBreakdown } from '../src';

describe('workloadBreakdown', () => {
  it('counts requests, token share and the prefix tokens a cache could reuse, per tenant and group', () => {
    const w = parseTrace(
      [
        'request_id,arrival_time_s,input_tokens,output_tokens,tenant,prefix_group,prefix_tokens',
        'r1,0.0,100,10,acme,sys,40',
        'r2,0.1,200,20,acme,sys,40',
        'r3,0.2,300,30,globex,sys,40',
        'r4,0.3,400,40,globex,,0',
        'r5,0.4,50,5,globex,doc,30',
        'r6,0.5,60,6,acme,doc,20',
      ].join('\n'),
      'trace.csv',
    );
    const b = workloadBreakdown(w);
    const total = 1110 + 111;
    // sys: r1 computes the prefix, r2 and r3 could hit it; doc: r5 computes it, r6 reuses its own
    // 20 prefix tokens.
    expect(b.prefixGroups).toEqual([
      {
        name: 'sys',
        requests: 3,
        inputTokens: 600,
        outputTokens: 60,
        tokenShare: 660 / total,
        reusablePrefixTokens: 80,
        prefixHitPotential: 80 / 600,
      },
      {
        name: 'doc',
        requests: 2,
        inputTokens: 110,
        outputTokens: 11,
        tokenShare: 121 / total,
        reusablePrefixTokens: 20,
        prefixHitPotential: 20 / 110,
      },
      {
        name: '(none)',
        requests: 1,
        inputTokens: 400,
        outputTokens: 40,
        tokenShare: 440 / total,
        reusablePrefixTokens: 0,
        prefixHitPotential: 0,
      },
    ]);
    expect(b.tenants.map((t) => [t.name, t.requests, t.reusablePrefixTokens])).toEqual([
      ['acme', 3, 40 + 20],
      ['globex', 3, 40],
    ]);
    expect(b.tenants.reduce((s, t) => s + t.tokenShare, 0)).toBeCloseTo(1, 12);
    expect(b.prefixHitPotential).toBeCloseTo(100 / 1110, 12);
    expect(b.omitted).toEqual({ tenants: 0, prefixGroups: 0 });
    const cut = workloadBreakdown(w, 1);
    expect(cut.prefixGroups.map((g) => g.name)).toEqual(['sys']);
    expect(cut.omitted).toEqual({ tenants: 1, prefixGroups: 2 });
  });

  it('has nothing to break down in a workload without tenants or prefix groups', () => {
    const w = generateWorkload(
      {
        arrival: { process: 'poisson', rate: 1 },
        numRequests: 20,
        inputTokens: { uniform: [10, 20] },
        outputTokens: { uniform: [1, 2] },
      },
      1,
    );
    const b = workloadBreakdown(w);
    expect(b.tenants).toEqual([]);
    expect(b.prefixGroups).toEqual([]);
    expect(b.prefixHitPotential).toBe(0);
  });
});
