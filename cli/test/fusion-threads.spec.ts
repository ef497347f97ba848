import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { InputError } from '@kvplan/core';
import {
  analyzeFusion,
  jsKernel,
  openKvSample,
  selectSimilarityKernel,
  synthesizeKvSample,
  writeKvSample,
} from '@kvplan/fusion';
import { cliLayerThreads } from '../src/fusion-threads';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kvplan-threads-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

describe('cliLayerThreads', () => {
  it('fuses layers in worker threads with the same results as in-process, and says so', async () => {
    const file = path.join(dir, 's.safetensors');
    const sample = synthesizeKvSample({
      numSeqs: 8,
      blocksPerSeq: 8,
      numLayers: 7,
      blockSize: 8,
      numKvHeads: 2,
      headDim: 16,
      seed: 2,
    });
    writeKvSample(file, sample, { dtype: 'F16' });
    const r = openKvSample(file);
    const saved = process.env.KVPLAN_THREADS;
    process.env.KVPLAN_THREADS = '2';
    const stderr: string[] = [];
    const io = {
      stdout: () => undefined,
      stderr: (t: string) => stderr.push(t),
      stderrIsTty: false,
      cwd: dir,
    };
    try {
      const opts = { thresholds: [0.5, 0.8], attention: false, search: 'sketch' as const };
      const plain = await analyzeFusion(r, { ...opts, kernel: jsKernel });
      // The threads get the main thread's kernel, by name.
      const { kernel } = await selectSimilarityKernel({ wanted: 'onnxruntime', threads: 1 });
      // Every layer worth a thread: two workers, one kernel thread each on two cores.
      const pool = cliLayerThreads({ path: file, name: null }, 3, 1, kernel, io, 1);
      expect(pool.threads).toBe(2);
      try {
        const threaded = await analyzeFusion(r, opts, pool.hooks());
        expect(threaded.thresholds).toEqual(plain.thresholds);
        expect(threaded.layers.map((l) => l.thresholds.map((t) => t.survivingBlocks))).toEqual(
          plain.layers.map((l) => l.thresholds.map((t) => t.survivingBlocks)),
        );
        // A NaN in a layer a thread reads is bad input there too (exit 2), not a thread failure.
        const bad = path.join(dir, 'nan.safetensors');
        const buf = fs.readFileSync(file);
        const headerLen = Number(buf.readBigUInt64LE(0));
        const header = JSON.parse(buf.subarray(8, 8 + headerLen).toString('utf8'));
        buf.writeUInt16LE(0x7e00, 8 + headerLen + (header['layers.4.value'].data_offsets[0] as number) + 6);
        fs.writeFileSync(bad, buf);
        const badPool = cliLayerThreads({ path: bad, name: null }, 3, 1, kernel, io, 1);
        try {
          const err = await analyzeFusion(r, opts, badPool.hooks()).catch((e: unknown) => e);
          expect(err).toBeInstanceOf(InputError);
          expect((err as InputError).issues[0].path).toBe('nan.safetensors: layers.4.value');
        } finally {
          await badPool.close();
        }
      } finally {
        await pool.close();
        kernel.dispose();
      }
      expect(stderr.join('')).toContain(
        'fusing 3 layers in 2 worker threads (1 kernel thread each; 2 cores)',
      );
      // Too little work: no thread, every core to the calling thread's kernel.
      const small = cliLayerThreads({ path: file, name: null }, 3, 1, kernel, io);
      expect([small.threads, small.kernelThreads]).toEqual([0, 2]);
      expect(small.hooks()).toEqual({});
      await small.close();
    } finally {
      r.close();
      if (saved === undefined) delete process.env.KVPLAN_THREADS;
      else process.env.KVPLAN_THREADS = saved;
    }
  }, 120_000);
});
