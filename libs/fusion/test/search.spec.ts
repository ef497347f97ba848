import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import {
  analyzeFusion,
  AttentionProbe,
  fuseLayer,
  matmulAB,
  matmulABt,
  profileFromSample,
  resolveFusionOptions,
  runProducts,
  SketchFinder,
  synthesizeKvSample,
  tfjsKernel,
  toFuseJson,
} from '../src';

const shape = { blockSize: 16, numKvHeads: 2, headDim: 64 };

describe('sketch search', () => {
  it('agrees with the dense search: recall >= 99.5 % of above-threshold pairs, compression within 0.5 %', () => {
    const sample = synthesizeKvSample({ ...shape, numSeqs: 24, blocksPerSeq: 16, numLayers: 5, seed: 3 });
    const layer = sample.readLayer(2);
    const thresholds = [0.6, 0.7, 0.8];
    const dense = fuseLayer(
      layer,
      sample.info,
      resolveFusionOptions({ thresholds, attention: false }, sample.info),
    );
    const sketch = fuseLayer(
      layer,
      sample.info,
      resolveFusionOptions(
        { thresholds, attention: false, search: 'sketch', measureRecall: true },
        sample.info,
      ),
    );
    thresholds.forEach((t, k) => {
      const d = dense.thresholds[k];
      const s = sketch.thresholds[k];
      expect(s.search.pairsTrue!).toBeGreaterThan(0);
      expect(s.search.pairsTrueFound! / s.search.pairsTrue!).toBeGreaterThanOrEqual(0.995);
      const cd = d.totalBlocks / d.survivingBlocks;
      const cs = s.totalBlocks / s.survivingBlocks;
      expect(Math.abs(cs - cd) / cd).toBeLessThanOrEqual(0.005);
    });
    // Something fused, and the sketch checked far fewer pairs than all of them.
    expect(dense.thresholds[1].survivingBlocks).toBeLessThan(dense.thresholds[1].totalBlocks * 0.8);
    const allPairs = (384 * 384) / 2;
    expect(sketch.thresholds[1].search.candidates).toBeLessThan(allPairs / 3);
  });
});

describe('sketches of merged clusters', () => {
  it("combining the parts' sketches gives the sketch of the merged direction", () => {
    const D = 256;
    const N = 3;
    const rnd = (i: number) =>
      Math.sin(i * 12.9898) * 43758.5453 - Math.floor(Math.sin(i * 12.9898) * 43758.5453) - 0.5;
    // Raw rows of different norms: items are sketched as row x 1 / norm.
    const key = new Float32Array(N * D).map((_, i) => rnd(i + 1) * (1 + Math.floor(i / D)));
    const keyNorm = Float32Array.from({ length: N }, (_, m) => Math.hypot(...key.subarray(m * D, m * D + D)));
    const unit = (m: number) => key.subarray(m * D, m * D + D).map((x) => x / keyNorm[m]);
    const store = {
      N,
      D,
      key,
      value: key,
      offset: Int32Array.from({ length: N }, (_, m) => m * D),
      // written by prepareItem (the norm is taken in the sketching pass)
      keyNorm: new Float32Array(N),
      valNorm: keyNorm,
    };
    const opts = { dim: 32, margin: 0.1, seed: 5, measureRecall: false, clock: null, kernel: tfjsKernel };
    const finder = new SketchFinder(store, opts);
    for (let m = 0; m < N; m++) finder.prepareItem(m);
    const cluster = (m: number) => ({
      head: m,
      dir: key.subarray(m * D, m * D + D),
      dscale: 1 / keyNorm[m],
      vdir: key.subarray(m * D, m * D + D),
      vscale: 1 / keyNorm[m],
      pristine: true,
      size: 1,
      sketch: null,
    });
    // unit 0 + 2 x unit 1 (a merged cluster's dir, its unit direction at dscale 1 / norm): its
    // sketch by combining the items' vs. sketched directly
    const ws = [1, 2];
    const [u0, u1] = [unit(0), unit(1)];
    const sum = new Float32Array(D).map((_, d) => u0[d] + 2 * u1[d]);
    const norm = Math.hypot(...sum);
    const merged = { ...cluster(0), dir: sum, dscale: 1 / norm, pristine: false };
    merged.sketch = finder.mergedSketch([cluster(0), cluster(1)], ws) as never;
    expect(keyNorm.every((n, m) => Math.abs(store.keyNorm[m] - n) <= 1e-6 * n)).toBe(true);
    const direct = new SketchFinder(store, opts);
    for (let m = 0; m < N; m++) direct.prepareItem(m);
    const viaParts = Array.from(merged.sketch as unknown as Float32Array);
    const fresh = { ...merged, sketch: null };
    // a fresh finder sketches the merged direction itself when asked for the candidates
    runProducts(
      direct.find(
        { key: 0, leftStart: 0, leftEnd: 1, rightStart: 2, rightEnd: 3 },
        [fresh],
        [cluster(2)],
        0.5,
      ),
      tfjsKernel,
    );
    const own = Array.from(fresh.sketch as unknown as Float32Array);
    expect(own).toHaveLength(32);
    own.forEach((x, j) => expect(viaParts[j]).toBeCloseTo(x, 5));
  });
});

describe('RoPE removal', () => {
  it('comparing with RoPE removed recovers the similarity of un-rotated keys', () => {
    const opts = {
      ...shape,
      numSeqs: 12,
      blocksPerSeq: 8,
      numLayers: 3,
      seed: 9,
      drift: 0,
      numTemplates: 1,
      templateFraction: 1,
      minFidelity: 0.9,
    };
    const plain = synthesizeKvSample(opts);
    const roped = synthesizeKvSample({ ...opts, ropeTheta: 10000 });
    expect(roped.info.rope).toMatchObject({ state: 'applied', theta: 10000 });
    const o = (info: typeof plain.info, removeRope: boolean) =>
      resolveFusionOptions({ thresholds: [0.7], fusedLayers: [1], removeRope, attention: false }, info);
    const a = fuseLayer(plain.readLayer(1), plain.info, o(plain.info, false)).thresholds[0];
    const b = fuseLayer(roped.readLayer(1), roped.info, o(roped.info, true)).thresholds[0];
    const c = fuseLayer(roped.readLayer(1), roped.info, o(roped.info, false)).thresholds[0];
    expect(b.survivingBlocks).toBe(a.survivingBlocks);
    expect(b.distortion!.keyRelL2).toBeCloseTo(a.distortion!.keyRelL2, 4);
    expect(c.survivingBlocks).toBeGreaterThan(a.survivingBlocks);
    expect(() => o(plain.info, true)).toThrow(/no RoPE to remove/);
  });
});

describe('tensor leaks', () => {
  it('matmulAB(t), fuseLayer (dense and sketch), AttentionProbe, analyzeFusion and profileFromSample leave no tensors', async () => {
    const sample = synthesizeKvSample({
      ...shape,
      numSeqs: 6,
      blocksPerSeq: 4,
      numLayers: 5,
      numQueries: 2,
      seed: 4,
    });
    const before = tf.memory().numTensors;
    const m = matmulABt(new Float32Array([1, 2, 3, 4]), 2, new Float32Array([1, 0, 0, 1, 1, 1]), 3, 2);
    expect(Array.from(m)).toEqual([1, 2, 3, 3, 4, 7]);
    const layer = sample.readLayer(2);
    for (const search of ['dense', 'sketch'] as const) {
      fuseLayer(
        layer,
        sample.info,
        resolveFusionOptions({ thresholds: [0.6, 0.8], search, measureRecall: true }, sample.info),
      );
    }
    const probe = new AttentionProbe(layer, sample.info, { topK: 4, proxyQueries: 2 });
    probe.evaluate(layer.key, layer.value, new Set([0, 1]));
    expect(Array.from(matmulAB(new Float32Array([1, 2]), 1, new Float32Array([3, 4, 5, 6]), 2, 2))).toEqual([
      13, 16,
    ]);
    await profileFromSample(sample, { thresholds: [0.6, 0.7] });
    const a = await analyzeFusion(sample, { thresholds: [0.7] });
    expect(toFuseJson(a).thresholds).toHaveLength(1);
    expect(tf.memory().numTensors).toBe(before);
  });
});
