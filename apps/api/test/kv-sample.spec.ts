import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { InputError } from '@kvplan/core';
import { openKvSample, synthesizeKvSample, writeKvSample } from '@kvplan/fusion';
import { readKvSampleHeader } from '../src/modules/traces/kv-sample';

// The upload (readKvSampleHeader) and the fusion job (libs/fusion's reader, which the worker
// opens) must accept and reject the same kvplan-kv/1 files: an upload accepted here never fails
// in the job on its header, and nothing the job would refuse is stored.

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kvplan-kv-upload-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

const good = path.join(dir, 'good.safetensors');
writeKvSample(
  good,
  synthesizeKvSample({
    numSeqs: 2,
    blocksPerSeq: 2,
    numLayers: 2,
    blockSize: 4,
    numKvHeads: 1,
    headDim: 4,
    seed: 5,
  }),
);
const goodBytes = fs.readFileSync(good);
const goodLen = Number(goodBytes.readBigUInt64LE(0));
const goodHeader = JSON.parse(goodBytes.subarray(8, 8 + goodLen).toString('utf8')) as Record<string, unknown>;
const goodData = goodBytes.subarray(8 + goodLen);

/** A file with the good file's data (or `data`) behind `header`, written as JSON text. */
function variant(name: string, headerJson: string, data: Buffer = goodData): string {
  const json = Buffer.from(headerJson, 'utf8');
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(json.length));
  const file = path.join(dir, name);
  fs.writeFileSync(file, Buffer.concat([len, json, data]));
  return file;
}
const withMeta = (extra: Record<string, string>): string =>
  JSON.stringify({ ...goodHeader, __metadata__: { ...(goodHeader.__metadata__ as object), ...extra } });
const offsetsAt = (begin: number): string => {
  const h = structuredClone(goodHeader) as Record<string, { data_offsets?: number[] }>;
  const e = h['layers.0.key'];
  const size = e.data_offsets![1] - e.data_offsets![0];
  e.data_offsets = [begin, begin + size];
  return JSON.stringify(h);
};

/** null when accepted, else the issues. */
function upload(file: string): InputError['issues'] | null {
  try {
    readKvSampleHeader(file);
    return null;
  } catch (err) {
    if (!(err instanceof InputError)) throw err;
    return err.issues;
  }
}
function job(file: string): InputError['issues'] | null {
  try {
    openKvSample(file).close();
    return null;
  } catch (err) {
    if (!(err instanceof InputError)) throw err;
    return err.issues;
  }
}

const cases: Array<[string, () => string, boolean]> = [
  ['a good file (finite values)', () => good, true],
  ['header JSON null', () => variant('null.safetensors', 'null'), false],
  ['header JSON an array', () => variant('array.safetensors', '[1, 2]'), false],
  ['header not JSON', () => variant('text.safetensors', '{"layers.0.key": '), false],
  [
    'NUL in a __metadata__ value',
    () => variant('nul.safetensors', withMeta({ model: 'tiny\u0000llama' })),
    false,
  ],
  ['NUL in a __metadata__ key', () => variant('nulkey.safetensors', withMeta({ 'a\u0000b': 'x' })), false],
  [
    'truncated data',
    () => variant('trunc.safetensors', JSON.stringify(goodHeader), goodData.subarray(0, 10)),
    false,
  ],
  [
    'trailing data',
    () =>
      variant('trail.safetensors', JSON.stringify(goodHeader), Buffer.concat([goodData, Buffer.alloc(8)])),
    false,
  ],
  ['data offsets of 10^12', () => variant('far.safetensors', offsetsAt(1e12)), false],
  ['block_size "0"', () => variant('bs0.safetensors', withMeta({ block_size: '0' })), false],
  ['block_size not a number', () => variant('bsx.safetensors', withMeta({ block_size: 'sixteen' })), false],
  ['another format', () => variant('fmt.safetensors', withMeta({ format: 'pt' })), false],
  ['seq_lens not JSON', () => variant('seq.safetensors', withMeta({ seq_lens: '[4,' })), false],
];

describe('the KV sample upload and the fusion job read kvplan-kv/1 alike', () => {
  it.each(cases)('%s', (_name, make, accepted) => {
    const file = make();
    const a = upload(file);
    const b = job(file);
    expect(a === null).toBe(accepted);
    expect(b === null).toBe(accepted);
    // The same issues, only named under the upload's `kv-sample` instead of the file's name.
    const base = path.basename(file);
    const norm = (xs: InputError['issues'] | null) =>
      xs?.map((i) => ({
        path: i.path.replace(/^kv-sample\.?/, '').replace(new RegExp(`^${base}:?`), ''),
        message: i.message,
      }));
    expect(norm(a)).toEqual(norm(b));
  });

  it('returns the stored __metadata__ of an accepted file', () => {
    expect(readKvSampleHeader(good)).toEqual(goodHeader.__metadata__);
  });

  it('refuses a file too short for the length prefix and a header length past the limit', () => {
    const tiny = path.join(dir, 'tiny.safetensors');
    fs.writeFileSync(tiny, Buffer.from([1, 2, 3]));
    expect(upload(tiny)?.[0].message).toMatch(/truncated/);
    expect(job(tiny)?.[0].message).toMatch(/truncated/);
    const huge = path.join(dir, 'huge.safetensors');
    const len = Buffer.alloc(8);
    len.writeBigUInt64LE(2n ** 40n);
    fs.writeFileSync(huge, Buffer.concat([len, Buffer.from('{}')]));
    expect(upload(huge)?.[0].message).toMatch(/not a safetensors file/);
    expect(job(huge)?.[0].message).toMatch(/not a safetensors file/);
  });
});
