import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Worker } from 'node:worker_threads';
import { afterAll, describe, expect, it } from 'vitest';
import { InputError } from '@kvplan/core';
import {
  LayerThreadPool,
  analyzeFusion,
  jsKernel,
  openKvSample,
  resolveFusionOptions,
  synthesizeKvSample,
  writeKvSample,
  type LayerFusionResult,
  type LayerThreadPoolOptions,
  type LayerThreadSetup,
} from '../src';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kvplan-layer-threads-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

// The threads run the library's own thread body from its TypeScript source, through tsx.
const ENTRY = `require('tsx/cjs/api').register(); require(${JSON.stringify(
  path.join(__dirname, '..', 'src', 'layer-threads.ts'),
)}).runLayerThread();`;
const start = (setup: LayerThreadSetup) => new Worker(ENTRY, { eval: true, workerData: setup });

function pool(over: Partial<LayerThreadPoolOptions> = {}): LayerThreadPool {
  return new LayerThreadPool({
    cores: 2,
    fusedLayers: 4,
    elementsPerLayer: 1,
    minElementsPerThread: 1,
    setup: { kernel: 'onnxruntime', tfBackend: null },
    start,
    ...over,
  });
}

const sample = synthesizeKvSample({
  numSeqs: 8,
  blocksPerSeq: 8,
  numLayers: 6,
  blockSize: 8,
  numKvHeads: 2,
  headDim: 16,
  seed: 5,
});
const opts = { thresholds: [0.5, 0.8], attention: false, search: 'sketch' as const };
const surviving = (ls: LayerFusionResult[]) => ls.map((l) => l.thresholds.map((t) => t.survivingBlocks));

/** A copy of `file` with one F16 value of `tensor` replaced by `bits` (NaN 0x7e00, +Inf 0x7c00). */
function spoiled(file: string, tensor: string, bits: number): string {
  const buf = fs.readFileSync(file);
  const headerLen = Number(buf.readBigUInt64LE(0));
  const header = JSON.parse(buf.subarray(8, 8 + headerLen).toString('utf8'));
  buf.writeUInt16LE(bits, 8 + headerLen + (header[tensor].data_offsets[0] as number) + 6);
  const out = path.join(dir, `spoiled-${tensor}.safetensors`);
  fs.writeFileSync(out, buf);
  return out;
}

describe('LayerThreadPool', () => {
  it('is sized by the one thread policy: no thread where the work does not pay for one', () => {
    const none = pool({ minElementsPerThread: undefined });
    expect([none.threads, none.kernelThreads]).toEqual([0, 2]);
    expect(none.hooks()).toEqual({});
    return none.close();
  });

  it('fuses layers sent as data, and read by the threads from the file, as in the calling thread', async () => {
    const plain = await analyzeFusion(sample, { ...opts, kernel: jsKernel });
    const file = path.join(dir, 's.safetensors');
    writeKvSample(file, sample, { dtype: 'F32' });
    const data = pool();
    const byFile = pool({ file: { path: file, name: 's.safetensors' } });
    try {
      expect([data.threads, data.kernelThreads]).toEqual([2, 1]);
      const a = await analyzeFusion(sample, opts, data.hooks());
      const src = openKvSample(file);
      const b = await analyzeFusion(src, opts, byFile.hooks());
      src.close();
      expect(a.thresholds).toEqual(plain.thresholds);
      expect(surviving(a.layers)).toEqual(surviving(plain.layers));
      expect(surviving(b.layers)).toEqual(surviving(plain.layers));
    } finally {
      await Promise.all([data.close(), byFile.close()]);
    }
  });

  it('refuses a layer holding NaN or infinity as bad input naming the tensor, read here or in a thread', async () => {
    const file = path.join(dir, 'h.safetensors');
    writeKvSample(file, sample, { dtype: 'F16' });
    const nan = spoiled(file, 'layers.3.value', 0x7e00);
    const inf = spoiled(file, 'layers.2.key', 0x7c00);
    // read in the calling thread and sent as data (one pool for both files), or read by a thread from its file
    const data = pool();
    try {
      for (const [bad, tensor] of [
        [nan, 'layers.3.value'],
        [inf, 'layers.2.key'],
      ]) {
        const name = path.basename(bad);
        const src = openKvSample(bad);
        const e1 = await analyzeFusion(src, opts, data.hooks()).catch((e: unknown) => e);
        const byFile = pool({ file: { path: bad, name } });
        const e2 = await analyzeFusion(src, opts, byFile.hooks()).catch((e: unknown) => e);
        await byFile.close();
        src.close();
        for (const e of [e1, e2]) {
          expect(e).toBeInstanceOf(InputError);
          expect((e as InputError).issues[0].path).toBe(`${name}: ${tensor}`);
        }
      }
    } finally {
      await data.close();
    }
  });

  it('names the layer when its thread dies', async () => {
    const dying = pool({ start: () => new Worker('process.exit(3)', { eval: true }) });
    const o = resolveFusionOptions(opts, sample.info);
    const err = await dying.hooks().fuseLayerAt!(2, o, {
      info: sample.info,
      read: () => sample.readLayer(2),
    }).catch((e: unknown) => e);
    expect((err as Error).message).toMatch(
      /^layer 2: (fusion layer thread exited with code 3|every fusion layer thread has exited)$/,
    );
    await dying.close();
  });

  it('closes with layers in flight: those in hand finish, queued ones are refused by layer, the process lives', async () => {
    // Layers big enough that each thread is inside onnxruntime when close() comes: a thread
    // terminated there takes the whole process down ("terminate called after throwing an
    // instance of 'Napi::Error'"), which this test would report as a crashed test file.
    const big = synthesizeKvSample({
      numSeqs: 16,
      blocksPerSeq: 24,
      numLayers: 6,
      blockSize: 16,
      numKvHeads: 2,
      headDim: 64,
      seed: 9,
    });
    const o = resolveFusionOptions({ ...opts, search: 'dense' }, big.info);
    for (let round = 0; round < 3; round++) {
      const p = pool({ fusedLayers: 6 });
      const fuseAt = p.hooks().fuseLayerAt!;
      const runs = [0, 1, 2, 3, 4, 5].map((l) =>
        fuseAt(l, o, { info: big.info, read: () => big.readLayer(l) }).then(
          (r) => ({ layer: l, ok: r.layer === l }),
          (e: Error) => ({ layer: l, error: e.message }),
        ),
      );
      await Promise.race(runs);
      await p.close();
      const out = await Promise.all(runs);
      const done = out.filter((r) => 'ok' in r);
      const refused = out.filter((r) => 'error' in r);
      // one layer answered before close(); each thread's layer in hand finished after it
      expect(done.length).toBeGreaterThanOrEqual(2);
      expect(done.every((r) => 'ok' in r && r.ok)).toBe(true);
      for (const r of refused)
        expect(r).toEqual({
          layer: r.layer,
          error: `layer ${r.layer}: the layer threads were closed before it ran`,
        });
      await expect(fuseAt(0, o, { info: big.info, read: () => big.readLayer(0) })).rejects.toThrow(
        'layer 0: the layer threads are closed',
      );
    }
  }, 120_000);
});
