import { describe, expect, it } from 'vitest';
import { InputError, planThreads } from '@kvplan/core';
import {
  analyzeFusion,
  fuseLayer,
  fuseLayerAsync,
  jsKernel,
  oneNodeModel,
  resolveFusionOptions,
  selectSimilarityKernel,
  synthesizeKvSample,
  tfjsAsyncKernel,
  tfjsKernel,
  toFuseJson,
  type FusionOptions,
  type SimilarityKernel,
} from '../src';

// onnxruntime-node is an optional dependency that installs from the registry here and in CI:
// these tests need it and fail (they do not skip) where it is missing.
async function ortKernel(threads = 2): Promise<SimilarityKernel> {
  const s = await selectSimilarityKernel({ wanted: 'onnxruntime', threads });
  return s.kernel;
}

function rows(n: number, D: number, seed: number): Float32Array {
  return Float32Array.from({ length: n * D }, (_, i) => Math.sin((i + 1) * seed * 0.618) * 0.5);
}

describe('oneNodeModel', () => {
  it('writes a ModelProto: ir_version 7, the producer, the op type and the transB attribute', () => {
    const bytes = oneNodeModel({
      op: 'Gemm',
      a: ['m', 'k'],
      b: ['n', 'k'],
      y: ['m', 'n'],
      intAttributes: { transB: 1 },
    });
    expect([...bytes.subarray(0, 2)]).toEqual([0x08, 7]); // field 1 (ir_version), varint 7
    const text = new TextDecoder('latin1').decode(bytes);
    expect(text).toContain('kvplan');
    expect(text).toContain('Gemm');
    expect(text).toContain('transB');
    expect(bytes.length).toBeLessThan(200);
  });
});

describe('similarity kernels', () => {
  it('tfjs, js loops and onnxruntime give the same products (both operand orders)', async () => {
    const ort = await ortKernel();
    try {
      const D = 300;
      for (const [m, n] of [
        [3, 7],
        [9, 2],
        [1, 1],
      ]) {
        const a = rows(m, D, 1);
        const b = rows(n, D, 2);
        const ref = jsKernel.gram(a, m, b, n, D);
        for (const k of [tfjsKernel, ort]) {
          const got = k.gram(a, m, b, n, D);
          expect(got).toHaveLength(m * n);
          got.forEach((x, i) => expect(x).toBeCloseTo(ref[i], 4));
        }
      }
      expect(ort.gram(new Float32Array(0), 0, rows(2, 4, 1), 2, 4)).toHaveLength(0);
    } finally {
      ort.dispose();
    }
  });

  it('onnxruntime reads only m x D of a longer operand view', async () => {
    const ort = await ortKernel(1);
    try {
      const a = rows(4, 8, 3);
      const b = rows(2, 8, 4);
      expect([...ort.gram(a, 2, b, 2, 8)].map((x) => x.toFixed(4))).toEqual(
        [...jsKernel.gram(a.subarray(0, 16), 2, b, 2, 8)].map((x) => x.toFixed(4)),
      );
    } finally {
      ort.dispose();
    }
  });
});

describe('an asynchronous kernel', () => {
  it('runs through analyzeFusion; the synchronous fuseLayer refuses it, naming the way', async () => {
    const sample = synthesizeKvSample({
      numSeqs: 8,
      blocksPerSeq: 8,
      numLayers: 5,
      blockSize: 8,
      numKvHeads: 2,
      headDim: 16,
      seed: 4,
    });
    const opts = { thresholds: [0.5, 0.8], attention: false };
    const sync = await analyzeFusion(sample, { ...opts, kernel: jsKernel });
    const later = await analyzeFusion(sample, { ...opts, kernel: tfjsAsyncKernel });
    expect(later.kernel).toBe('tfjs-async');
    expect(later.thresholds.map((t) => t.survivingBlocks)).toEqual(
      sync.thresholds.map((t) => t.survivingBlocks),
    );
    expect(() =>
      fuseLayer(
        sample.readLayer(2),
        sample.info,
        resolveFusionOptions({ ...opts, kernel: tfjsAsyncKernel }, sample.info),
      ),
    ).toThrow(/reads its products asynchronously: fuse with fuseLayerAsync or analyzeFusion/);
  });
});

describe('fusion counts do not depend on the kernel', () => {
  const cases: Array<{ name: string; opts: Partial<FusionOptions> }> = [
    { name: 'dense BFF', opts: { search: 'dense' } },
    { name: 'sketch BFF', opts: { search: 'sketch', measureRecall: true, sketchMinItems: 0 } },
    { name: 'dense CFF', opts: { search: 'dense', mode: 'cff', chunkTokens: 32, window: 4 } },
    {
      name: 'sketch CFF',
      opts: { search: 'sketch', mode: 'cff', chunkTokens: 32, window: 4, sketchMinItems: 0 },
    },
  ];
  for (const { name, opts } of cases) {
    it(`${name}: surviving blocks and per-node counts equal tfjs's at thresholds 0.5-0.9`, async () => {
      const sample = synthesizeKvSample({
        numSeqs: 12,
        blocksPerSeq: 16,
        numLayers: 5,
        blockSize: 16,
        numKvHeads: 2,
        headDim: 64,
        seed: 7,
      });
      const layer = sample.readLayer(2);
      const thresholds = [0.5, 0.6, 0.7, 0.8, 0.9];
      const ort = await ortKernel();
      try {
        const run = (kernel: SimilarityKernel) =>
          fuseLayer(
            layer,
            sample.info,
            resolveFusionOptions({ ...opts, thresholds, attention: false, kernel }, sample.info),
          );
        const a = run(tfjsKernel);
        const b = run(ort);
        // The same search on a kernel read back asynchronously (as tfjs on WebGPU is), awaited
        // product by product: the same counts and points, bit for bit the same products.
        const c = await fuseLayerAsync(
          layer,
          sample.info,
          resolveFusionOptions(
            { ...opts, thresholds, attention: false, kernel: tfjsAsyncKernel },
            sample.info,
          ),
        );
        expect(c.thresholds.map((r) => r.survivingBlocks)).toEqual(
          a.thresholds.map((r) => r.survivingBlocks),
        );
        expect(c.thresholds.map((r) => r.points)).toEqual(a.thresholds.map((r) => r.points));
        expect(b.searchUsed).toBe(opts.search);
        expect(b.thresholds.map((r) => r.survivingBlocks)).toEqual(
          a.thresholds.map((r) => r.survivingBlocks),
        );
        expect(b.thresholds.map((r) => r.points)).toEqual(a.thresholds.map((r) => r.points));
        // Something fused at the lower thresholds, nothing is trivially equal.
        expect(a.thresholds[0].survivingBlocks).toBeLessThan(a.thresholds[0].totalBlocks);
        if (opts.measureRecall) {
          for (const r of b.thresholds) expect(r.search.pairsTrueFound).toBe(r.search.pairsTrue);
        }
      } finally {
        ort.dispose();
      }
    });
  }
});

describe('selectSimilarityKernel', () => {
  it('auto takes onnxruntime where it loads', async () => {
    const s = await selectSimilarityKernel({ threads: 2 });
    try {
      expect(s.kernel.name).toBe('onnxruntime-node');
      expect(s.fallback).toBeNull();
      expect(s.line).toContain('onnxruntime-node CPU (2 threads)');
    } finally {
      s.kernel.dispose();
    }
  });

  it('auto falls back to tfjs, loudly, when onnxruntime-node is missing; a forced one fails', async () => {
    const load = async (name: string) => {
      throw new Error(`Cannot find package '${name}'`);
    };
    const s = await selectSimilarityKernel({ threads: 1, load });
    expect(s.kernel.name).toBe('tfjs');
    expect(s.fallback).toContain('onnxruntime-node is unavailable (not installed)');
    expect(s.line).toContain('WARNING');
    await expect(selectSimilarityKernel({ wanted: 'onnxruntime', threads: 1, load })).rejects.toThrow(
      /KVPLAN_SIMILARITY_KERNEL.*not installed/,
    );
  });

  it('names the setting when the choice is unknown', async () => {
    const err = await selectSimilarityKernel({ wanted: 'blas', threads: 1 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(InputError);
    expect((err as InputError).issues[0].path).toBe('KVPLAN_SIMILARITY_KERNEL');
    expect((await selectSimilarityKernel({ wanted: 'tfjs', threads: 1 })).kernel).toBe(tfjsKernel);
    expect((await selectSimilarityKernel({ wanted: 'js', threads: 1 })).kernel).toBe(jsKernel);
  });
});

describe('planThreads', () => {
  it('never plans more threads than free cores, and at least one', () => {
    expect(planThreads(2, 28)).toEqual({ workers: 2, kernelThreads: 1 });
    expect(planThreads(2, 1)).toEqual({ workers: 1, kernelThreads: 2 });
    expect(planThreads(8, 3)).toEqual({ workers: 3, kernelThreads: 2 });
    expect(planThreads(2, 4, { busy: 1 })).toEqual({ workers: 1, kernelThreads: 1 });
    expect(planThreads(1, 0, { busy: 5 })).toEqual({ workers: 1, kernelThreads: 1 });
    // Small tasks stay in the calling thread, which gets every core for its kernel.
    expect(planThreads(2, 4, { perTask: 10, minPerThread: 100 })).toEqual({ workers: 1, kernelThreads: 2 });
    expect(planThreads(4, 4, { perTask: 50, minPerThread: 100 })).toEqual({ workers: 2, kernelThreads: 2 });
  });
});

describe('analyzeFusion with layers fused elsewhere', () => {
  it('keeps up to `concurrency` layers in flight and gives the same analysis as in-process', async () => {
    const sample = synthesizeKvSample({
      numSeqs: 6,
      blocksPerSeq: 8,
      numLayers: 8,
      blockSize: 16,
      numKvHeads: 2,
      headDim: 32,
      seed: 4,
    });
    const opts: Partial<FusionOptions> = { thresholds: [0.6, 0.8], attention: false };
    const plain = await analyzeFusion(sample, opts);
    let inFlight = 0;
    let most = 0;
    const remoteLayers: number[] = [];
    const elsewhere = await analyzeFusion(sample, opts, {
      concurrency: 3,
      fuseLayerAt: async (l, o) => {
        inFlight++;
        most = Math.max(most, inFlight);
        remoteLayers.push(l);
        await new Promise((r) => setTimeout(r, 5));
        const res = fuseLayer(sample.readLayer(l), sample.info, o);
        inFlight--;
        return res;
      },
    });
    expect(most).toBe(3);
    expect(remoteLayers.sort((a, b) => a - b)).toEqual([2, 3, 4, 5]);
    expect(elsewhere.thresholds).toEqual(plain.thresholds);
    expect(elsewhere.layers.map((l) => l.layer)).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
    expect(elsewhere.kernel).toBe('tfjs');
  });
});

describe('the sketch search is dropped where it cannot win', () => {
  it('runs dense on layers whose largest tree is under sketchMinItems, and says so per layer', async () => {
    const sample = synthesizeKvSample({
      numSeqs: 6,
      blocksPerSeq: 8,
      numLayers: 5,
      blockSize: 16,
      numKvHeads: 2,
      headDim: 32,
      seed: 4,
    });
    const layer = sample.readLayer(2);
    const run = (sketchMinItems: number) =>
      fuseLayer(
        layer,
        sample.info,
        resolveFusionOptions({ search: 'sketch', attention: false, sketchMinItems }, sample.info),
      );
    const dropped = run(49);
    const kept = run(48);
    expect(dropped.searchUsed).toBe('dense');
    expect(dropped.search.candidates).toBe(0);
    expect(dropped.search.denseFlops).toBeGreaterThan(0);
    expect(kept.searchUsed).toBe('sketch');
    expect(kept.search.sketchFlops).toBeGreaterThan(0);
    const doc = toFuseJson(await analyzeFusion(sample, { search: 'sketch', attention: false }));
    expect(doc.thresholds[0].layers.map((l) => l.searchUsed ?? null)).toEqual([
      null,
      null,
      'dense',
      null,
      null,
    ]);
    expect(() => resolveFusionOptions({ sketchMinItems: -1 }, sample.info)).toThrow(/sketchMinItems/);
  });
});
