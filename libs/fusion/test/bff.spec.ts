import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import { fuseLayer, resolveFusionOptions, type FusionOptions, type KvLayer, type KvSampleInfo } from '../src';
import { blockOf, tinySample, unit } from './helpers';

function fuse(info: KvSampleInfo, layer: KvLayer, opts: Partial<FusionOptions>) {
  const o = resolveFusionOptions(
    {
      skipFirstLayers: 0,
      skipLastLayers: 0,
      keepMapping: true,
      keepReconstruction: true,
      attention: false,
      ...opts,
    },
    info,
  );
  return fuseLayer(layer, info, o);
}

describe('BFF tree merge, hand-computed', () => {
  it('a right block matching two left blocks enters both means and maps to the last', () => {
    const s = Math.SQRT1_2;
    const { info, layer } = tinySample(
      [
        [
          [1, 0],
          [0, 1],
        ],
        [[s, s]],
      ],
      [
        [
          [1, 0],
          [0, 1],
        ],
        [[0, 2]],
      ],
    );
    const r = fuse(info, layer, { thresholds: [0.7] }).thresholds[0];
    expect(r.totalBlocks).toBe(3);
    expect(r.survivingBlocks).toBe(2);
    // slots: seq0 -> 0, 1; seq1 -> 2 (maxBlocks 2)
    expect(Array.from(r.representative!)).toEqual([0, 1, 1, -1]);
    // a1 keeps its own slot but took the mean with b: normalize((1,0) + (s,s)).
    const a1 = unit([1 + s, s]);
    blockOf(r.key!, info, 0, 0).forEach((x, d) => expect(x).toBeCloseTo(a1[d], 6));
    // a2 = normalize((0,1) + (s,s)); b is rebuilt along a2's direction with its own norm (1).
    const a2 = unit([s, 1 + s]);
    blockOf(r.key!, info, 0, 1).forEach((x, d) => expect(x).toBeCloseTo(a2[d], 6));
    blockOf(r.key!, info, 1, 0).forEach((x, d) => expect(x).toBeCloseTo(a2[d], 6));
    // Values follow the key matches: a1's value direction = normalize((1,0)+(0,1)); b's value is
    // a2's value direction (0,1) times b's own value norm 2.
    blockOf(r.value!, info, 0, 0).forEach((x) => expect(x).toBeCloseTo(s, 6));
    expect(blockOf(r.value!, info, 1, 0)[0]).toBeCloseTo(0, 6);
    expect(blockOf(r.value!, info, 1, 0)[1]).toBeCloseTo(2, 6);
  });

  it('splits an odd batch with the left half = floor(n/2)', () => {
    // x=(1,0), y=(.8,.6), z=(.6,.8); threshold .75. Right half {y,z} merges first: y'=(s,s),
    // cos(x,y')=.707 -> 2 survivors. (Splitting the other way would fuse all three.)
    const { info, layer } = tinySample([[[1, 0]], [[0.8, 0.6]], [[0.6, 0.8]]]);
    const r = fuse(info, layer, { thresholds: [0.75] }).thresholds[0];
    expect(r.survivingBlocks).toBe(2);
    expect(Array.from(r.representative!)).toEqual([0, 1, 1]);
    const s = Math.SQRT1_2;
    for (const j of [1, 2]) blockOf(r.key!, info, j, 0).forEach((x) => expect(x).toBeCloseTo(s, 6));
    expect(blockOf(r.key!, info, 0, 0)).toEqual([1, 0]);
  });

  it('maps every block to its representative at every level of the tree', () => {
    const v = [0.6, 0.8];
    const { info, layer } = tinySample([[v], [v], [v], [v], [[1, 0]]]);
    // 5 sequences: left {0,1}, right {2,3,4}; right = {2} + {3,4}; 3 absorbs nothing from 4.
    const r = fuse(info, layer, { thresholds: [0.99] }).thresholds[0];
    expect(Array.from(r.representative!)).toEqual([0, 0, 0, 0, 4]);
    expect(r.survivingBlocks).toBe(2);
    // Point counts per subtree size: 2-leaf nodes {0,1} and {3,4}; 3-leaf {2,3,4}; 5-leaf root.
    const byLeaves = Object.fromEntries(r.points.map((p) => [p.leaves, p]));
    expect(byLeaves[2]).toMatchObject({ nodes: 2, blocks: 4, surviving: 3 });
    expect(byLeaves[3]).toMatchObject({ nodes: 1, blocks: 3, surviving: 2 });
    expect(byLeaves[5]).toMatchObject({ nodes: 1, blocks: 5, surviving: 2 });
  });

  it('identical blocks fuse at any threshold below 0.999', () => {
    const D = 4096;
    const v: number[] = [];
    let x = 12345;
    for (let d = 0; d < D; d++) {
      x = (x * 1103515245 + 12345) % 2147483648;
      v.push(x / 2147483648 - 0.5);
    }
    const { info, layer } = tinySample([[v], [v], [v]]);
    const res = fuse(info, layer, { thresholds: [0.7, 0.99, 0.9989] });
    for (const r of res.thresholds) expect(r.survivingBlocks).toBe(1);
  });

  it("compares with strict >, never within a leaf, and rebuilds with each block's own norm", () => {
    const { info, layer } = tinySample([
      [
        [1, 0],
        [3, 0],
      ],
      [[0, 2]],
    ]);
    const res = fuse(info, layer, { thresholds: [0, -0.001] });
    expect(res.thresholds[0].survivingBlocks).toBe(3); // cos exactly 0 is not > 0; (1,0) and (3,0) share a leaf
    const r = res.thresholds[1];
    expect(r.survivingBlocks).toBe(2); // (0,2) fuses with (1,0) and (3,0): maps to the last
    expect(Array.from(r.representative!)).toEqual([0, 1, 1, -1]);
    const dir = unit([1, 1]);
    blockOf(r.key!, info, 0, 1).forEach((x, d) => expect(x).toBeCloseTo(3 * dir[d], 5));
    blockOf(r.key!, info, 1, 0).forEach((x, d) => expect(x).toBeCloseTo(2 * dir[d], 5));
  });

  it('weighted mean weighs by cluster size; keep-representative copies the head block', () => {
    // Level 1: {0,1}: (1,0) absorbs (1,0) -> size 2. {2,3}: (0,1) absorbs (0,1). Root at t=-0.5:
    // cos 0 > -0.5, head (1,0) of size 2 meets (0,1) of size 2.
    const { info, layer } = tinySample([[[1, 0]], [[1, 0]], [[0, 1]], [[0, 3]]]);
    const mean = fuse(info, layer, { thresholds: [-0.5], merge: 'mean' }).thresholds[0];
    const w = fuse(info, layer, { thresholds: [-0.5], merge: 'weighted' }).thresholds[0];
    expect(mean.survivingBlocks).toBe(1);
    expect(w.survivingBlocks).toBe(1);
    blockOf(mean.key!, info, 3, 0).forEach((x, d) => expect(x).toBeCloseTo(3 * unit([1, 1])[d], 5));
    blockOf(w.key!, info, 3, 0).forEach((x, d) => expect(x).toBeCloseTo(3 * unit([1, 1])[d], 5));
    // Unequal sizes: 3 sequences (1,0) vs one (0,1): tree {0} | {1,2}... use 4 with 3 alike.
    const u = tinySample([[[1, 0]], [[0, 1]], [[1, 0]], [[1, 0]]]);
    const wm = fuse(u.info, u.layer, { thresholds: [-0.5], merge: 'weighted' }).thresholds[0];
    // {0,1}: (1,0)+(0,1) sizes 1,1 -> (s,s) size 2; {2,3}: (1,0) size 2. Root: 2*(s,s)+2*(1,0).
    const s = Math.SQRT1_2;
    const expected = unit([2 * s + 2, 2 * s]);
    blockOf(wm.key!, u.info, 1, 0).forEach((x, d) => expect(x).toBeCloseTo(expected[d], 5));
    const keep = fuse(u.info, u.layer, { thresholds: [-0.5], merge: 'keep-representative' }).thresholds[0];
    expect(keep.survivingBlocks).toBe(1);
    for (let i = 0; i < 4; i++) expect(blockOf(keep.key!, u.info, i, 0)).toEqual([1, 0]);
  });

  it('scope tenant never fuses blocks of different tenants', () => {
    const v = [1, 0];
    const { info, layer } = tinySample([[v], [v], [v], [v]], undefined, { tenants: ['a', 'b', 'a', 'b'] });
    const g = fuse(info, layer, { thresholds: [0.5] }).thresholds[0];
    const t = fuse(info, layer, { thresholds: [0.5], scope: 'tenant' }).thresholds[0];
    expect(g.survivingBlocks).toBe(1);
    expect(t.survivingBlocks).toBe(2);
    expect(Array.from(t.representative!)).toEqual([0, 1, 0, 1]);
  });

  it('only fuses the configured layers (by default not the first 2 and last 2)', () => {
    const { info, layer } = tinySample([[[1, 0]], [[1, 0]]]);
    const info6 = { ...info, numLayers: 6 };
    const o = resolveFusionOptions({}, info6);
    expect(o.fused).toEqual([2, 3]);
    const r0 = fuseLayer({ ...layer, layer: 1 }, info6, o);
    expect(r0.fused).toBe(false);
    expect(r0.thresholds[0].survivingBlocks).toBe(2);
    const r2 = fuseLayer({ ...layer, layer: 2 }, info6, o);
    expect(r2.thresholds[0].survivingBlocks).toBe(1);
  });

  it('a sweep gives the same result as separate runs and leaks no tensors', () => {
    const seqs: number[][][] = [];
    let x = 7;
    const rnd = (): number => {
      x = (x * 1103515245 + 12345) % 2147483648;
      return x / 2147483648 - 0.5;
    };
    const base = Array.from({ length: 4 }, () => Array.from({ length: 64 }, rnd));
    for (let i = 0; i < 9; i++)
      seqs.push(Array.from({ length: 5 }, (_, j) => base[(i + j) % 4].map((b) => b + 0.6 * rnd())));
    const { info, layer } = tinySample(seqs);
    const ts = [0.5, 0.7, 0.8, 0.9];
    const before = tf.memory().numTensors;
    const sweep = fuse(info, layer, { thresholds: ts, attention: true });
    expect(tf.memory().numTensors).toBe(before);
    ts.forEach((t, k) => {
      const one = fuse(info, layer, { thresholds: [t] }).thresholds[0];
      expect(sweep.thresholds[k].survivingBlocks).toBe(one.survivingBlocks);
      expect(Array.from(sweep.thresholds[k].representative!)).toEqual(Array.from(one.representative!));
    });
    const counts = sweep.thresholds.map((r) => r.survivingBlocks);
    expect(counts[0]).toBeLessThan(counts[3]);
  });
});

describe('distortion figures', () => {
  it('equal the errors of the reconstructed tensors (mean and keep-representative)', () => {
    let x = 3;
    const rnd = (): number => {
      x = (x * 1103515245 + 12345) % 2147483648;
      return x / 2147483648 - 0.5;
    };
    const base = Array.from({ length: 3 }, () => Array.from({ length: 32 }, rnd));
    const seqs = Array.from({ length: 6 }, (_, i) =>
      Array.from({ length: 4 }, (_, j) => base[(i + j) % 3].map((b) => (1 + j) * (b + 0.5 * rnd()))),
    );
    const vals = seqs.map((s) => s.map((v) => v.map((e) => e * 2 + rnd())));
    const { info, layer } = tinySample(seqs, vals);
    for (const merge of ['mean', 'keep-representative'] as const) {
      const r = fuse(info, layer, { thresholds: [0.5], merge }).thresholds[0];
      expect(r.survivingBlocks).toBeLessThan(r.totalBlocks);
      let kd = 0;
      let kr = 0;
      let vd = 0;
      let vr = 0;
      let worst = 1;
      for (let b = 0; b < 24; b++) {
        const o = blockOf(layer.key, info, Math.floor(b / 4), b % 4);
        const f = blockOf(r.key!, info, Math.floor(b / 4), b % 4);
        const ov = blockOf(layer.value, info, Math.floor(b / 4), b % 4);
        const fv = blockOf(r.value!, info, Math.floor(b / 4), b % 4);
        kd += o.reduce((a, e, d) => a + (e - f[d]) ** 2, 0);
        kr += o.reduce((a, e) => a + e * e, 0);
        vd += ov.reduce((a, e, d) => a + (e - fv[d]) ** 2, 0);
        vr += ov.reduce((a, e) => a + e * e, 0);
        const c = o.reduce((a, e, d) => a + e * f[d], 0) / Math.hypot(...o) / Math.hypot(...f);
        worst = Math.min(worst, c);
      }
      expect(r.distortion!.keyRelL2).toBeCloseTo(Math.sqrt(kd / kr), 5);
      expect(r.distortion!.valueRelL2).toBeCloseTo(Math.sqrt(vd / vr), 5);
      expect(r.distortion!.keyWorstCos).toBeCloseTo(worst, 5);
    }
  });
});
