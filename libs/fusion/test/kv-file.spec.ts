import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { InputError } from '@kvplan/core';
import {
  bf16ToFloat,
  floatToBf16,
  floatToHalf,
  halfToFloat,
  openKvSample,
  synthesizeKvSample,
  writeKvSample,
} from '../src';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kvplan-kv-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

/** Writes a raw safetensors file from a header object and a data length (zeros). */
function rawFile(
  name: string,
  header: Record<string, unknown>,
  dataBytes: number,
  opts: { lenOverride?: bigint } = {},
): string {
  const json = Buffer.from(JSON.stringify(header));
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(opts.lenOverride ?? BigInt(json.length));
  const file = path.join(dir, name);
  fs.writeFileSync(file, Buffer.concat([len, json, Buffer.alloc(dataBytes)]));
  return file;
}

function issuesOf(f: () => unknown): Array<{ path: string; message: string }> {
  try {
    f();
  } catch (err) {
    expect(err).toBeInstanceOf(InputError);
    return (err as InputError).issues;
  }
  throw new Error('expected an InputError');
}

const meta = { format: 'kvplan-kv/1', block_size: '2', seq_lens: '[4, 3]' };
const kv = (off: number, dtype = 'F32', shape = [2, 2, 2, 1, 2]) => ({
  dtype,
  shape,
  data_offsets: [off, off + shape.reduce((a, b) => a * b) * (dtype === 'F32' ? 4 : 2)],
});

describe('half and bfloat16 conversions', () => {
  it('round-trip exactly representable values and round to nearest even', () => {
    for (const x of [0, 1, -2, 0.5, 65504, 2 ** -24, -(2 ** -14)])
      expect(halfToFloat(floatToHalf(x))).toBe(x);
    expect(halfToFloat(floatToHalf(1e6))).toBe(Infinity);
    expect(halfToFloat(floatToHalf(1 + 2 ** -11))).toBe(1); // tie -> even
    expect(halfToFloat(floatToHalf(1 + 3 * 2 ** -11))).toBe(1 + 2 ** -9);
    for (const x of [0, 1, -3.5, 2 ** 100]) expect(bf16ToFloat(floatToBf16(x))).toBe(x);
    expect(bf16ToFloat(floatToBf16(1 + 2 ** -8))).toBe(1);
    expect(Number.isNaN(bf16ToFloat(floatToBf16(NaN)))).toBe(true);
  });
});

describe('kvplan-kv/1 files', () => {
  const sample = synthesizeKvSample({
    numSeqs: 3,
    blocksPerSeq: 4,
    numLayers: 3,
    blockSize: 4,
    numKvHeads: 2,
    headDim: 8,
    numQueries: 2,
    lengths: 'ragged',
    tenants: 2,
    seed: 5,
  });

  for (const dtype of ['F32', 'F16', 'BF16'] as const) {
    it(`writes and reads back ${dtype} layer by layer`, () => {
      const file = path.join(dir, `s-${dtype}.safetensors`);
      writeKvSample(file, sample, { dtype });
      const r = openKvSample(file);
      try {
        expect(r.info).toMatchObject({
          numSeqs: 3,
          numLayers: 3,
          maxBlocks: 4,
          blockSize: 4,
          numKvHeads: 2,
          headDim: 8,
          numQueries: 2,
          numHeads: 8,
          dtype,
          synthetic: true,
        });
        expect(r.info.seqLens).toEqual(sample.info.seqLens);
        expect(r.info.tenants).toEqual(sample.info.tenants);
        expect(r.info.queryPositions).toEqual(sample.info.queryPositions);
        const tol = dtype === 'F32' ? 0 : dtype === 'F16' ? 1e-3 : 8e-3;
        for (const l of [2, 0]) {
          const a = sample.readLayer(l);
          const b = r.readLayer(l);
          for (const k of ['key', 'value', 'query'] as const) {
            const x = a[k]!;
            const y = b[k]!;
            expect(y.length).toBe(x.length);
            let worst = 0;
            for (let i = 0; i < x.length; i++)
              worst = Math.max(worst, Math.abs(x[i] - y[i]) / Math.max(1, Math.abs(x[i])));
            expect(worst).toBeLessThanOrEqual(tol);
          }
        }
      } finally {
        r.close();
      }
      expect(fs.readdirSync(dir).filter((f) => f.endsWith('.partial'))).toEqual([]);
    });
  }

  it('refuses a layer holding NaN or infinity as it is read, naming the layer, tensor and first index', () => {
    const file = path.join(dir, 'nan-F16.safetensors');
    writeKvSample(file, sample, { dtype: 'F16' });
    const buf = fs.readFileSync(file);
    const headerLen = Number(buf.readBigUInt64LE(0));
    const header = JSON.parse(buf.subarray(8, 8 + headerLen).toString('utf8'));
    const at = (tensor: string, flat: number, half: number) =>
      buf.writeUInt16LE(half, 8 + headerLen + (header[tensor].data_offsets[0] as number) + flat * 2);
    // [3 seqs, 4 blocks, 4 tokens, 2 heads, 8 dims]: seq s, token t (of 16), head h, dim d
    const flat = (s: number, t: number, h: number, d: number) => ((s * 16 + t) * 2 + h) * 8 + d;
    const short = sample.info.seqLens.findIndex((n) => n < 16);
    expect(short).toBeGreaterThanOrEqual(0);
    // layer 0: infinity only in the padding past a sequence's length (never used): accepted
    at('layers.0.key', flat(short, 15, 0, 0), 0x7c00);
    // layer 1: a NaN in the values at [1, 2, 1, 3, 5] and an infinity after it; the query too
    at('layers.1.value', flat(1, 2 * 4 + 1, 1, 3), 0x7e00);
    at('layers.1.value', flat(2, 0, 0, 0), 0xfc00);
    at('layers.1.query', 7, 0x7c00);
    fs.writeFileSync(file, buf);
    const r = openKvSample(file);
    try {
      expect(r.readLayer(0).key.length).toBe(3 * 16 * 2 * 8);
      const issues = issuesOf(() => r.readLayer(1));
      expect(issues).toEqual([
        {
          path: 'nan-F16.safetensors: layers.1.value',
          message: 'NaN at [1, 2, 1, 1, 3] (and 1 more non-finite values); KV tensors must be finite',
        },
        {
          path: 'nan-F16.safetensors: layers.1.query',
          message: expect.stringMatching(/^Infinity at \[0, 0, 0, 7\]; KV tensors must be finite$/),
        },
      ]);
      expect(r.readLayer(2).value.length).toBe(3 * 16 * 2 * 8);
    } finally {
      r.close();
    }
  });

  it('reports a truncated file', () => {
    const file = path.join(dir, 'trunc.safetensors');
    writeKvSample(file, sample);
    const size = fs.statSync(file).size;
    fs.truncateSync(file, size - 100);
    const issues = issuesOf(() => openKvSample(file));
    expect(issues.some((i) => /truncated/.test(i.message) && /holds/.test(i.message))).toBe(true);
    fs.truncateSync(file, 5);
    expect(issuesOf(() => openKvSample(file))[0].message).toMatch(/truncated/);
    const f2 = rawFile('hdr.safetensors', { __metadata__: meta }, 0, { lenOverride: 10_000n });
    expect(issuesOf(() => openKvSample(f2))[0].message).toMatch(/truncated: the header needs/);
  });

  it('reports header sizes that disagree with the data, unknown dtypes and trailing bytes', () => {
    const h = {
      __metadata__: meta,
      'layers.0.key': { dtype: 'F32', shape: [2, 2, 2, 1, 2], data_offsets: [0, 60] },
      'layers.0.value': { dtype: 'I8', shape: [2, 2, 2, 1, 2], data_offsets: [60, 76] },
    };
    const issues = issuesOf(() => openKvSample(rawFile('sizes.safetensors', h, 76)));
    expect(issues).toEqual(
      expect.arrayContaining([
        expect.objectContaining({
          path: 'sizes.safetensors:layers.0.key.data_offsets',
          message: expect.stringMatching(/needs 64 bytes, data_offsets give 60/),
        }),
        expect.objectContaining({
          path: 'sizes.safetensors:layers.0.value.dtype',
          message: expect.stringMatching(/unknown dtype "I8"/),
        }),
      ]),
    );
    const ok = { __metadata__: meta, 'layers.0.key': kv(0), 'layers.0.value': kv(64) };
    expect(issuesOf(() => openKvSample(rawFile('trail.safetensors', ok, 140)))[0].message).toMatch(
      /12 trailing bytes/,
    );
    expect(openKvSample(rawFile('good.safetensors', ok, 128)).info.numLayers).toBe(1);
  });

  it('reports seq_lens longer than the blocks, missing layers, gaps and bad metadata, all at once', () => {
    const h = {
      __metadata__: {
        format: 'kvplan-kv/2',
        block_size: 'two',
        seq_lens: '[4, 9]',
        tenants: '["a"]',
        rope: 'maybe',
        synthetic: 'yes',
        positions: 'nope',
      },
      'layers.0.key': kv(0),
      'layers.0.value': kv(64),
      'layers.2.key': kv(128),
      'layers.2.value': kv(192),
      'layers.3.key': kv(256),
      extra: kv(320),
    };
    const issues = issuesOf(() => openKvSample(rawFile('meta.safetensors', h, 384)));
    const byPath = (p: string) =>
      issues.filter((i) => i.path === `meta.safetensors:${p}`).map((i) => i.message);
    expect(byPath('__metadata__.format')[0]).toMatch(/expected "kvplan-kv\/1"/);
    expect(byPath('__metadata__.block_size')[0]).toMatch(/positive integer/);
    expect(byPath('__metadata__.seq_lens[1]')[0]).toMatch(
      /9 tokens is longer than the 2 blocks x 2 tokens given/,
    );
    expect(byPath('__metadata__.tenants')[0]).toMatch(/1 entries for 2 sequences/);
    expect(byPath('__metadata__.rope')[0]).toMatch(/applied.*removed/);
    expect(byPath('__metadata__.synthetic')[0]).toMatch(/"true" or "false"/);
    expect(byPath('__metadata__.positions')[0]).toMatch(/expected JSON/);
    expect(byPath('layers')[0]).toMatch(/without gaps; missing 1/);
    expect(byPath('layers.3.value')[0]).toBe('missing');
    expect(byPath('extra')[0]).toMatch(/unexpected tensor/);
  });

  it('reports a file that is not a safetensors file and one that does not exist', () => {
    const f = path.join(dir, 'text.safetensors');
    fs.writeFileSync(f, 'hello world, not a tensor file at all');
    expect(issuesOf(() => openKvSample(f))[0].message).toMatch(/not plausible|truncated/);
    expect(issuesOf(() => openKvSample(path.join(dir, 'absent.safetensors')))[0].message).toMatch(
      /cannot open/,
    );
  });

  it('refuses a FIFO or a device at once instead of opening it (opening a FIFO blocks)', () => {
    const fifo = path.join(dir, 'fifo.safetensors');
    execFileSync('mkfifo', [fifo]);
    for (const f of [fifo, '/dev/zero'])
      expect(issuesOf(() => openKvSample(f))[0].message).toBe(
        'not a regular file (a KV sample is a .safetensors file)',
      );
  });
});
