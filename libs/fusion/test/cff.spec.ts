import { describe, expect, it } from 'vitest';
import { InputError } from '@kvplan/core';
import {
  fuseLayer,
  planItems,
  resolveFusionOptions,
  type FusionOptions,
  type KvLayer,
  type KvSampleInfo,
} from '../src';
import { tinySample } from './helpers';

function fuse(info: KvSampleInfo, layer: KvLayer, opts: Partial<FusionOptions>) {
  const o = resolveFusionOptions(
    {
      mode: 'cff',
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

const x = [1, 0];
const y = [0, 1];

describe('CFF', () => {
  it('fuses across the chunks of one window, leaves the tail and partial chunks alone', () => {
    // chunkTokens 2 (2 blocks of 1 token), window 2: blocks 0-3 form the one full window;
    // chunk [4,5] is a tail shorter than a window, block 6 a partial chunk.
    const { info, layer } = tinySample([[x, y, x, y, x, y, x]]);
    const r = fuse(info, layer, { thresholds: [0.5], chunkTokens: 2, window: 2 }).thresholds[0];
    expect(r.totalBlocks).toBe(7);
    expect(r.candidateBlocks).toBe(4);
    expect(r.survivingBlocks).toBe(5);
    expect(Array.from(r.representative!)).toEqual([0, 1, 0, 1, 4, 5, 6]);
  });

  it('never compares blocks of the same chunk, nor of different sequences', () => {
    const { info, layer } = tinySample([
      [x, x, y, y],
      [x, x, y, y],
    ]);
    const r = fuse(info, layer, { thresholds: [0.5], chunkTokens: 2, window: 2 }).thresholds[0];
    // Per sequence: chunk0 = {x, x}, chunk1 = {y, y}: nothing similar across chunks.
    expect(r.survivingBlocks).toBe(8);
    const { info: i2, layer: l2 } = tinySample([[x, x, x, y]]);
    const r2 = fuse(i2, l2, { thresholds: [0.5], chunkTokens: 2, window: 2 }).thresholds[0];
    // Chunk1's x matches both x of chunk0: it maps to the last of them (block 1).
    expect(Array.from(r2.representative!)).toEqual([0, 1, 1, 3]);
  });

  it('plans windows of N chunks per sequence', () => {
    const { info } = tinySample([Array.from({ length: 9 }, () => x), Array.from({ length: 3 }, () => x)]);
    const p = planItems(info, { mode: 'cff', chunkTokens: 2, window: 2 });
    expect(p.trees.map((t) => t.leaves.length)).toEqual([2, 2]);
    expect(Array.from(p.blockOf)).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
    expect(p.totalBlocks).toBe(12);
  });

  it('rejects a window larger than the prompt and a chunk that is not whole blocks', () => {
    const { info, layer } = tinySample([[x, y, x]], undefined, { blockSize: 1 });
    let err: unknown = null;
    try {
      fuse(info, layer, { thresholds: [0.5], chunkTokens: 2, window: 2 });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(InputError);
    expect((err as InputError).issues[0]).toMatchObject({
      path: 'options.window',
      message: expect.stringMatching(/larger than the longest prompt \(3 tokens\)/),
    });
    const info2 = { ...info, blockSize: 2, headDim: 1, seqLens: [6], maxBlocks: 3 };
    expect(() => resolveFusionOptions({ mode: 'cff', chunkTokens: 3 }, info2)).toThrow(
      /chunkTokens: expected a positive multiple of the block size 2/,
    );
  });

  it('rejects thresholds outside [-1, 1], naming each', () => {
    const { info } = tinySample([[x]]);
    let err: unknown = null;
    try {
      resolveFusionOptions({ thresholds: [0.7, 1.5, -2] }, info);
    } catch (e) {
      err = e;
    }
    expect((err as InputError).issues.map((i) => i.path)).toEqual([
      'options.threshold[1]',
      'options.threshold[2]',
    ]);
  });
});
