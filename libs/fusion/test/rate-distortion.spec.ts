import { describe, expect, it } from 'vitest';
import {
  analyzeFusion,
  buildFusionProfile,
  fitRateDistortion,
  fitRateDistortionPoints,
  predictSurvivingFraction,
  profileFromSample,
  synthesizeKvSample,
  type RdPoint,
} from '../src';

describe('poisson-logistic/1', () => {
  it('predicts (1/B) sum_k exp(-k n p(t)), and the capped form reduces to it at cap 1', () => {
    const p = { layer: 0, pMax: 0.02, t0: 0.6, width: 0.05 };
    const q = { threshold: 0.7, leaves: 8, blocksPerLeaf: 32 };
    const pt = 0.02 / (1 + Math.exp(0.1 / 0.05));
    let direct = 0;
    for (let k = 0; k < 8; k++) direct += Math.exp(-k * 32 * pt);
    expect(predictSurvivingFraction(p, q)).toBeCloseTo(direct / 8, 12);
    expect(predictSurvivingFraction({ ...p, cap: 1 }, q)).toBeCloseTo(direct / 8, 12);
    expect(predictSurvivingFraction(p, { ...q, leaves: 1 })).toBe(1);
    // cap 0.5: half the blocks can never match.
    expect(predictSurvivingFraction({ ...p, cap: 0.5 }, { ...q, leaves: 10_000 })).toBeCloseTo(0.5, 3);
  });

  it('recovers known parameters from exact points and predicts unseen ones', () => {
    const truth = { layer: 3, pMax: 0.01, t0: 0.65, width: 0.04, cap: 0.7 };
    const pts: RdPoint[] = [];
    for (const t of [0.55, 0.6, 0.7, 0.8])
      for (const B of [2, 4, 8, 16, 32])
        pts.push({
          layer: 3,
          threshold: t,
          leaves: B,
          blocksPerLeaf: 32,
          survivingFraction: predictSurvivingFraction(truth, { threshold: t, leaves: B, blocksPerLeaf: 32 }),
          blocks: 32 * B,
        });
    const fit = fitRateDistortionPoints(pts);
    expect(fit.layers.map((l) => l.layer)).toEqual([3]);
    expect(fit.fitError.capped.maxAbsError).toBeLessThan(2e-3);
    const ho = fit.heldOut.capped.find((h) => h.split === 'largest-batch')!;
    expect(ho.points).toBe(4);
    expect(ho.maxAbsError).toBeLessThan(5e-3);
    const c = fit.capped.layers[0];
    for (const q of [
      { threshold: 0.65, leaves: 64, blocksPerLeaf: 32 },
      { threshold: 0.75, leaves: 128, blocksPerLeaf: 16 },
    ]) {
      expect(predictSurvivingFraction(c, q)).toBeCloseTo(predictSurvivingFraction(truth, q), 2);
    }
  });
});

describe('buildFusionProfile', () => {
  it('builds kvplan-fusion-profile/1 from a synthetic sample, with measured points, the fit and accuracy proxies', async () => {
    const sample = synthesizeKvSample({
      numSeqs: 16,
      blocksPerSeq: 8,
      numLayers: 6,
      blockSize: 8,
      numKvHeads: 2,
      headDim: 32,
      seed: 11,
    });
    const a = await analyzeFusion(sample, { thresholds: [0.5, 0.6, 0.7] });
    const fit = fitRateDistortion(a);
    const p = buildFusionProfile(a, { fit, model: 'meta-llama/Llama-3.1-8B' });
    expect(p).toMatchObject({
      format: 'kvplan-fusion-profile/1',
      mode: 'bff',
      source: 'synthetic',
      model: 'meta-llama/Llama-3.1-8B',
      numLayers: 6,
      fusedLayers: [2, 3],
      blockSize: 8,
    });
    expect(p.points.map((x) => x.batchSize)).toEqual([2, 4, 8, 16, 2, 4, 8, 16, 2, 4, 8, 16]);
    for (const pt of p.points) {
      expect(pt.survivingFraction).toHaveLength(6);
      expect(pt.survivingFraction[0]).toBe(1);
      expect(pt.survivingFraction[2]).toBeLessThanOrEqual(1);
    }
    // The whole batch point equals the analysis' own count.
    const top = p.points.find((x) => x.threshold === 0.5 && x.batchSize === 16)!;
    const l2 = a.layers[2].thresholds[0];
    expect(top.survivingFraction[2]).toBeCloseTo(l2.survivingBlocks / l2.totalBlocks, 5);
    expect(p.rateDistortion!.layers.map((l) => l.layer)).toEqual([2, 3]);
    // The rate model: plain, capped, or the better of the two on the held-out largest batch.
    const plain = buildFusionProfile(a, { fit, rateModel: 'plain' }).rateDistortion!.layers;
    const capped = buildFusionProfile(a, { fit, rateModel: 'capped' }).rateDistortion!.layers;
    expect(plain.every((l) => l.cap === undefined)).toBe(true);
    expect(capped.every((l) => l.cap! > 0 && l.cap! <= 1)).toBe(true);
    const ho = (k: 'plain' | 'capped') =>
      fit.heldOut[k].find((h) => h.split === 'largest-batch')!.meanAbsError;
    expect(p.rateDistortion!.layers).toEqual(ho('capped') <= ho('plain') ? capped : plain);
    // Fewer survivors in bigger batches and at lower thresholds.
    const l = fit.layers[0];
    expect(predictSurvivingFraction(l, { threshold: 0.6, leaves: 64, blocksPerLeaf: 8 })).toBeLessThan(
      predictSurvivingFraction(l, { threshold: 0.6, leaves: 16, blocksPerLeaf: 8 }),
    );
    expect(predictSurvivingFraction(l, { threshold: 0.5, leaves: 16, blocksPerLeaf: 8 })).toBeLessThan(
      predictSurvivingFraction(l, { threshold: 0.7, leaves: 16, blocksPerLeaf: 8 }),
    );
    expect(fit.heldOut.plain.map((h) => h.split).sort()).toEqual([
      'largest-batch',
      'leave-one-threshold-out',
    ]);
    expect(
      p.accuracy!.filter((x) => x.metric === 'attention-output-rel-error').map((x) => x.threshold),
    ).toEqual([0.5, 0.6, 0.7]);
    expect(p.accuracy![0].how).toMatch(/proxy/);
  });

  it('profileFromSample: one threshold, CFF windows, the similarity shape from the histogram', async () => {
    const sample = synthesizeKvSample({
      numSeqs: 2,
      blocksPerSeq: 32,
      numLayers: 5,
      blockSize: 4,
      numKvHeads: 2,
      headDim: 16,
      seed: 4,
    });
    const { analysis, fit, profile } = await profileFromSample(
      sample,
      { mode: 'cff', thresholds: [0.6], chunkTokens: 16, window: 8 },
      { source: 'synthetic', model: null },
    );
    expect(analysis.layers[2].similarity!.total).toBeGreaterThan(0);
    expect(fit!.similarity).not.toBeNull();
    expect(profile.mode).toBe('cff');
    expect(profile.fusedLayers).toEqual([2]);
    expect(profile.points.map((p) => p.window)).toEqual([2, 4, 8]);
    expect(profile.points.every((p) => p.batchSize === undefined)).toBe(true);
    expect(profile.rateDistortion!.layers).toHaveLength(1);
  });
});
