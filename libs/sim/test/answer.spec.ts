import { describe, expect, it } from 'vitest';
import type { AnswerRow, FusionProfile } from '@kvplan/core';
import { answerRow, answerTargetRate, planAnswer, unfitAnswerRow } from '../src/capacity/answer';
import { applyPoint } from '../src/projection/result';
import { resolveSimulationSpec } from '../src/simulation-spec';

const workload = {
  arrival: { process: 'poisson', rate: 6 },
  numRequests: 200,
  inputTokens: { uniform: [200, 800] },
  outputTokens: { uniform: [20, 80] },
};
const deployment = (gpu: string, price: number) => ({
  model: 'meta-llama/Llama-3.1-8B',
  gpu,
  engine: { maxModelLen: 4096 },
  cost: { gpuHourUsd: price },
});
const slo = { ttftMs: { p99: 1500 } };
const resolve = (raw: Record<string, unknown>, profile?: FusionProfile) =>
  resolveSimulationSpec(raw, {
    fileName: 'spec',
    baseDir: '/nonexistent',
    files: [],
    fusionProfile: profile,
  });

const config = (index: number, name: string) => ({ index, deploymentId: `d${index}`, deploymentName: name });

describe('answer rows', () => {
  it('finds the fewest replicas for the workload rate, priced per hour, with the SLO terms and KV peak at the highest rate', () => {
    const base = { ...deployment('l4', 0.8), workload, slo };
    const spec = resolve(base);
    const target = answerTargetRate(spec);
    expect(target).toBeGreaterThan(4);
    expect(target).toBeLessThan(8);
    const row = answerRow(spec, slo, config(0, 'l4'), target, { relTolerance: 0.1 });
    expect(row.feasible).toBe(true);
    expect(row.gpu).toBe('l4');
    expect(row.gpuName).toMatch(/L4/);
    expect(row.maxRatePerReplica).toBeGreaterThan(0);
    // Enough replicas for the target at the rate one replica serves, and not one more than needed.
    expect(row.replicas! * row.maxRatePerReplica!).toBeGreaterThanOrEqual(target * 0.8);
    expect(row.gpus).toBe(row.replicas! * row.tensorParallel);
    expect(row.usdPerHour).toBeCloseTo(row.gpus! * 0.8, 9);
    expect(row.costPerMillionOutputTokensUsd).toBeGreaterThan(0);
    expect(row.costPerMillionTotalTokensUsd).toBeLessThan(row.costPerMillionOutputTokensUsd!);
    expect(row.sloAtMax).toEqual([
      { metric: 'p99_ttft_ms', label: 'p99 TTFT', value: expect.any(Number), limit: 1500 },
    ]);
    expect(row.sloAtMax[0].value!).toBeLessThanOrEqual(1500);
    expect(row.kvPeakUsedBlocks).toBeGreaterThan(0);
    expect(row.kvPeakUsedBlocks!).toBeLessThanOrEqual(row.kvBlocksTotal!);
    expect(row.threshold).toBeNull();
    expect(row.accuracy).toEqual([]);
    // At the recommended size, each SLO term with how likely it holds (the one interval policy).
    expect(row.sloAtSize).toHaveLength(1);
    const [term] = row.sloAtSize!;
    expect(term.metric).toBe('p99_ttft_ms');
    expect(term.limitMs).toBe(1500);
    expect(term.projectedMs).toBeLessThanOrEqual(1500);
    expect(term.probability).toBeGreaterThanOrEqual(0.5);
    expect(term.probability).toBeLessThanOrEqual(1);
    expect(term.text).toMatch(/^meets p99 TTFT 1\.5 s with ~\d+ % confidence/);
  }, 60_000);

  it('marks a configuration that meets the SLO at no rate infeasible, with the binding term and no rate', () => {
    const tight = { ttftMs: { p99: 1 } };
    const spec = resolve({ ...deployment('l4', 0.8), workload, slo: tight });
    const row = answerRow(spec, tight, config(1, 'l4'), 5);
    expect(row.feasible).toBe(false);
    expect(row.limitedBy).toMatch(/^infeasible: p99_ttft_ms .* > 1 at zero load/);
    expect(row.maxRatePerReplica).toBeNull();
    expect(row.replicas).toBeNull();
    expect(row.usdPerHour).toBeNull();
    expect(row.sloAtSize).toEqual([]);
  }, 60_000);

  it("reports the fusion profile's accuracy at the row's threshold, each metric named with its direction", () => {
    const profile: FusionProfile = {
      format: 'kvplan-fusion-profile/1',
      mode: 'bff',
      source: 'kv-sample',
      model: 'meta-llama/Llama-3.1-8B',
      numLayers: 32,
      fusedLayers: [4, 5, 6],
      blockSize: 16,
      points: [],
      rateDistortion: {
        model: 'poisson-logistic/1',
        layers: [4, 5, 6].map((layer) => ({ layer, pMax: 0.02, t0: 0.7, width: 0.05 })),
      },
      accuracy: [
        {
          threshold: 0.8,
          metric: 'attention-output-rel-error',
          value: 0.02,
          interval: [0.018, 0.022],
          how: 'x',
        },
        { threshold: 0.8, metric: 'top8-attention-overlap', value: 0.93, interval: null, how: 'x' },
        { threshold: 0.9, metric: 'attention-output-rel-error', value: 0.01, interval: null, how: 'x' },
      ],
    } as FusionProfile;
    const raw = applyPoint(
      { ...deployment('l4', 0.8), workload, slo, fusion: { mode: 'bff', threshold: 0.9, scope: 'global' } },
      { threshold: 0.8, tensorParallel: 1 },
    );
    const spec = resolve(raw, profile);
    const row = answerRow(spec, slo, config(2, 'l4'), 2, { relTolerance: 0.2 });
    expect(row.threshold).toBe(0.8);
    expect(row.fusionMode).toBe('bff');
    expect(row.profileSource).toBe('kv-sample');
    expect(row.accuracy).toEqual([
      expect.objectContaining({
        metric: 'attention-output-rel-error',
        value: 0.02,
        interval: [0.018, 0.022],
        higherIsBetter: false,
        source: 'proxy',
      }),
      expect.objectContaining({ metric: 'top8-attention-overlap', value: 0.93, higherIsBetter: true }),
    ]);
  }, 60_000);

  it("puts an answer point's deployment and TP in place of the base's, keeping the plan's workload and SLO", () => {
    const base = { ...deployment('l4', 0.8), workload, slo, seed: 3 };
    const out = applyPoint(base, {
      deployment: deployment('h100-sxm', 3),
      tensorParallel: 2,
      threshold: null,
    });
    expect(out).toEqual({ ...deployment('h100-sxm', 3), tensorParallel: 2, workload, slo, seed: 3 });
  });
});

/** A row for the ranking tests: feasible when it has GPUs. */
function row(index: number, over: Partial<AnswerRow>): AnswerRow {
  const r = unfitAnswerRow(
    {
      ...config(index, `dep${index}`),
      gpu: 'h100-sxm',
      tensorParallel: 1,
      threshold: null,
      fusionMode: null,
    },
    'x',
  );
  return {
    ...r,
    gpuName: 'NVIDIA H100',
    feasible: true,
    limitedBy: 'p99_ttft_ms 900 > 800',
    maxRatePerReplica: 3,
    replicas: 1,
    gpus: 1,
    usdPerHour: 3,
    ...over,
  };
}

describe('the plan answer', () => {
  it('names the cheapest configuration without fusion and the cheapest with, with its accuracy cost', () => {
    const rows = [
      row(0, { gpu: 'l4', gpuName: 'NVIDIA L4', replicas: 4, gpus: 4, usdPerHour: 3.2 }),
      row(1, { replicas: 2, gpus: 2, usdPerHour: 6 }),
      row(2, {
        gpu: 'l4',
        gpuName: 'NVIDIA L4',
        threshold: 0.8,
        fusionMode: 'bff',
        replicas: 3,
        gpus: 3,
        usdPerHour: 2.4,
        accuracy: [
          {
            metric: 'attention-output-rel-error',
            label: 'attention output relative error',
            value: 0.018,
            interval: [0.016, 0.02],
            higherIsBetter: false,
            source: 'proxy',
          },
        ],
      }),
      // Infeasible: never chosen, however cheap it would be.
      row(3, {
        threshold: 0.7,
        fusionMode: 'bff',
        feasible: false,
        replicas: null,
        gpus: null,
        usdPerHour: null,
        limitedBy: 'infeasible: p99_ttft_ms 2000 > 800 at zero load (0.1 req/s)',
      }),
    ];
    const a = planAnswer(rows, 6);
    expect(a.best).toBe(0);
    // The front ($/h, $/M output tokens, threshold): the H100 row costs more per hour at the same
    // per-token cost and threshold as the L4 one; the infeasible row is never on it.
    expect(a.rows.map((r) => r.pareto)).toEqual([true, false, true, false]);
    expect(a.bestFused).toEqual([{ threshold: 0.8, index: 2 }]);
    expect(a.sentence).toBe(
      'Serve 6 req/s on 4 x NVIDIA L4 (l4, TP1, 4 replicas) for $3.20/h; with BFF at 0.8, 3 x NVIDIA L4 (l4, TP1, 3 replicas) for $2.40/h at ' +
        'an accuracy cost of attention output relative error 0.018 (lower is better, 95 % interval 0.016-0.02, proxy).',
    );
  });

  it('says when fusion saves nothing: the same GPUs at the same price, and what it would cost', () => {
    const acc = {
      metric: 'top8-attention-overlap',
      label: 'top-8 attention overlap',
      value: 0.97,
      interval: null,
      higherIsBetter: true,
      source: 'proxy' as const,
    };
    const a = planAnswer(
      [
        row(0, { replicas: 2, gpus: 2, usdPerHour: 6.4 }),
        row(1, {
          threshold: 0.85,
          fusionMode: 'bff',
          replicas: 2,
          gpus: 2,
          usdPerHour: 6.4,
          accuracy: [acc],
        }),
      ],
      3,
    );
    expect(a.sentence).toBe(
      'Serve 3 req/s on 2 x NVIDIA H100 (h100-sxm, TP1, 2 replicas) for $6.40/h; BFF at 0.85 saves nothing here ' +
        '(the same 2 x h100-sxm), at an accuracy cost of top-8 attention overlap 0.97 (higher is better, proxy).',
    );
  });

  it('ranks a priced configuration before one without a price, then by fewer GPUs', () => {
    const a = planAnswer(
      [row(0, { usdPerHour: null, gpus: 1 }), row(1, { usdPerHour: 9, gpus: 3, replicas: 3 })],
      1,
    );
    expect(a.best).toBe(1);
    const b = planAnswer(
      [row(0, { usdPerHour: null, gpus: 2, replicas: 2 }), row(1, { usdPerHour: null, gpus: 1 })],
      1,
    );
    expect(b.best).toBe(1);
    expect(b.sentence).toMatch(/1 x NVIDIA H100 \(h100-sxm, TP1, 1 replica\) at no price given\.$/);
  });

  it('says why when nothing serves the rate', () => {
    const a = planAnswer(
      [
        row(0, {
          feasible: false,
          replicas: null,
          gpus: null,
          usdPerHour: null,
          limitedBy: 'infeasible: p99_ttft_ms 2000 > 800 at zero load (0.1 req/s)',
        }),
      ],
      2,
    );
    expect(a.best).toBeNull();
    expect(a.sentence).toMatch(
      /^No configuration without fusion serves 2 req\/s within the SLO \(h100-sxm TP1: infeasible: p99_ttft_ms 2000 > 800/,
    );
  });
});
