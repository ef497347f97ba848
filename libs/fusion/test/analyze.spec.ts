import { describe, expect, it } from 'vitest';
import { analyzeFusion, AttentionProbe, synthesizeKvSample, toFuseJson } from '../src';
import { tinySample } from './helpers';

describe('attention-output error', () => {
  it("matches a hand computation with the file's queries (GQA head mapping included)", () => {
    // One sequence, 2 tokens of one KV head (d=2), 2 query heads sharing it.
    const { info, layer } = tinySample(
      [
        [
          [1, 0],
          [0, 1],
        ],
      ],
      [
        [
          [1, 0],
          [0, 2],
        ],
      ],
      { numQueries: 1, numHeads: 2 },
    );
    layer.query = new Float32Array([2, 0, 0, 0]); // head 0: q=(2,0); head 1: q=(0,0)
    const probe = new AttentionProbe(layer, info, { topK: 1, proxyQueries: 1 });
    expect(probe.querySource).toBe('file');
    const key2 = new Float32Array([1, 0, 1, 0]); // token 1's key replaced by (1,0)
    const r = probe.evaluate(key2, layer.value, new Set([0]));
    const s = 2 / Math.SQRT2;
    const w = Math.exp(s) / (Math.exp(s) + 1);
    const o0 = [w, 2 * (1 - w)]; // original, head 0
    const o1 = [0.5, 1]; // original, head 1 (uniform)
    const f = [0.5, 1]; // fused: both keys equal -> uniform for both heads
    const err2 = (o0[0] - f[0]) ** 2 + (o0[1] - f[1]) ** 2;
    const ref2 = o0[0] ** 2 + o0[1] ** 2 + o1[0] ** 2 + o1[1] ** 2;
    expect(r.relError).toBeCloseTo(Math.sqrt(err2 / ref2), 5);
    // Top-1: head 0 attended token 0 in both (tie in fused resolved to the lower index).
    expect(r.topKOverlap).toBeGreaterThanOrEqual(0.5);
    const same = probe.evaluate(layer.key, layer.value, new Set());
    expect(same).toMatchObject({ relError: 0, topKOverlap: 1 });
  });
});

describe('analyzeFusion and the fuse --json document', () => {
  const sample = synthesizeKvSample({
    numSeqs: 8,
    blocksPerSeq: 6,
    numLayers: 6,
    blockSize: 8,
    numKvHeads: 2,
    headDim: 16,
    seed: 2,
  });

  it("lists every layer for every threshold, with the paper's and the all-layer compression", async () => {
    const a = await analyzeFusion(sample, { thresholds: [0.6, 1] });
    const doc = toFuseJson(a);
    expect(doc.mode).toBe('bff');
    expect(doc.sample).toMatchObject({ numSeqs: 8, numLayers: 6, blockSize: 8, synthetic: true });
    expect(doc.thresholds.map((t) => t.threshold)).toEqual([0.6, 1]);
    for (const t of doc.thresholds) {
      expect(t.layers.map((l) => l.layer)).toEqual([0, 1, 2, 3, 4, 5]);
      expect(t.layers.map((l) => l.fused)).toEqual([false, false, true, true, false, false]);
      for (const l of t.layers) expect(l.totalBlocks).toBe(48);
    }
    const t06 = doc.thresholds[0];
    const fusedSurv = (t06.layers[2].survivingBlocks as number) + (t06.layers[3].survivingBlocks as number);
    expect(fusedSurv).toBeLessThan(96);
    expect(t06.compressionRatio).toBeCloseTo(96 / fusedSurv, 5);
    expect(t06.compressionRatioAllLayers).toBeCloseTo(288 / (fusedSurv + 192), 5);
    expect(t06.bytesFreed).toBe((96 - fusedSurv) * 8 * 2 * 16 * 2 * 4);
    expect(t06.distortion!.querySource).toBe('keys-proxy');
    expect(t06.distortion!.attentionRelError!).toBeGreaterThan(0);
    // cos > 1 never holds: nothing fuses and nothing is distorted.
    const t1 = doc.thresholds[1];
    expect(t1.compressionRatio).toBe(1);
    expect(t1.bytesFreed).toBe(0);
    expect(t1.distortion).toMatchObject({ keyRelL2: 0, attentionRelError: 0, topKOverlap: 1 });
  });

  it('gives a null paper compression when no layer is fused', async () => {
    const a = await analyzeFusion(sample, { thresholds: [0.5], fusedLayers: [] });
    expect(a.thresholds[0].compressionRatio).toBeNull();
    expect(a.thresholds[0].compressionRatioAllLayers).toBe(1);
    expect(a.thresholds[0].distortion).toBeNull();
  });

  it('stops before the next layer when the checkpoint throws, in this thread or with layers elsewhere', async () => {
    class Stop extends Error {}
    for (const remote of [false, true]) {
      const done: number[] = [];
      let checks = 0;
      const run = analyzeFusion(
        sample,
        { thresholds: [0.8] },
        {
          onLayer: (r) => done.push(r.layer),
          checkpoint: () => {
            if (++checks > 3) throw new Stop();
          },
          ...(remote && {
            concurrency: 2,
            fuseLayerAt: async (l: number) => {
              await new Promise((r) => setTimeout(r, 5));
              return (await analyzeFusion(sample, { thresholds: [0.8], fusedLayers: [l] })).layers[l];
            },
          }),
        },
      );
      await expect(run).rejects.toBeInstanceOf(Stop);
      // Three layers were started (one lane, or two); none after the throw, even a while later.
      await new Promise((r) => setTimeout(r, 200));
      expect(done.length).toBeGreaterThanOrEqual(2);
      expect(done.length).toBeLessThanOrEqual(3);
      expect(checks).toBeLessThanOrEqual(3 + (remote ? 2 : 1));
    }
  });
});
