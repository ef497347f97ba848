import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runCli } from './run-cli';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kvplan-fuse-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

const run = (argv: string[]) => runCli(argv, dir);

const small = [
  '--seqs',
  '8',
  '--blocks',
  '8',
  '--layers',
  '6',
  '--block-size',
  '8',
  '--kv-heads',
  '2',
  '--head-dim',
  '16',
];

describe('kvplan kv synth / kv info', () => {
  it('writes a synthetic sample that kv info describes', async () => {
    const w = await run([
      'kv',
      'synth',
      'a.safetensors',
      ...small,
      '--dtype',
      'bf16',
      '--queries',
      '2',
      '--json',
    ]);
    expect(w.code).toBe(0);
    const doc = JSON.parse(w.stdout);
    expect(doc).toMatchObject({ numSeqs: 8, numLayers: 6, synthetic: true, dtype: 'BF16', numQueries: 2 });
    const i = await run(['kv', 'info', 'a.safetensors', '--json']);
    expect(i.code).toBe(0);
    expect(JSON.parse(i.stdout)).toMatchObject({
      numSeqs: 8,
      maxBlocks: 8,
      blockSize: 8,
      numKvHeads: 2,
      headDim: 16,
      numHeads: 8,
      synthetic: true,
    });
  });

  it('takes the shape of a model preset', async () => {
    const w = await run([
      'kv',
      'synth',
      'm.safetensors',
      '--model',
      'meta-llama/Llama-3.1-8B',
      '--seqs',
      '2',
      '--blocks',
      '1',
      '--layers',
      '2',
      '--json',
    ]);
    expect(w.code).toBe(0);
    expect(JSON.parse(w.stdout)).toMatchObject({
      numLayers: 2,
      numKvHeads: 8,
      headDim: 128,
      model: 'meta-llama/Llama-3.1-8B',
    });
  });

  it('names every bad flag, exit 2, no file', async () => {
    const r = await run(['kv', 'synth', 'bad.safetensors', '--seqs', '0', '--noise=-1', '--dtype', 'f8']);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(/--dtype: expected f32, f16 or bf16/);
    const r2 = await run(['kv', 'synth', 'bad.safetensors', '--seqs', '0', '--noise=-1']);
    expect(r2.code).toBe(2);
    expect(r2.stderr).toMatch(/--seqs: expected a positive integer/);
    expect(r2.stderr).toMatch(/--noise: expected a number >= 0/);
    expect(fs.existsSync(path.join(dir, 'bad.safetensors'))).toBe(false);
  });
});

describe('kvplan fuse', () => {
  it('prints the fuse --json document and writes the profile', async () => {
    expect((await run(['kv', 'synth', 's.safetensors', ...small])).code).toBe(0);
    const r = await run([
      'fuse',
      's.safetensors',
      '--mode',
      'bff',
      '--threshold',
      '0.6,0.8',
      '--json',
      '--profile',
      'p.json',
    ]);
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/tfjs backend: wasm/);
    const doc = JSON.parse(r.stdout);
    expect(doc.mode).toBe('bff');
    expect(doc.sample).toMatchObject({
      file: 's.safetensors',
      numSeqs: 8,
      numLayers: 6,
      blockSize: 8,
      synthetic: true,
    });
    expect(doc.thresholds.map((t: { threshold: number }) => t.threshold)).toEqual([0.6, 0.8]);
    for (const t of doc.thresholds)
      expect(t.layers.map((l: { layer: number }) => l.layer)).toEqual([0, 1, 2, 3, 4, 5]);
    expect(doc.thresholds[0].compressionRatio).toBeGreaterThan(1);
    const profile = JSON.parse(fs.readFileSync(path.join(dir, 'p.json'), 'utf8'));
    expect(profile).toMatchObject({
      format: 'kvplan-fusion-profile/1',
      mode: 'bff',
      source: 'synthetic',
      numLayers: 6,
      fusedLayers: [2, 3],
      blockSize: 8,
    });
    expect(profile.rateDistortion.model).toBe('poisson-logistic/1');
    expect(doc.profile).toMatchObject({ file: 'p.json', model: 'poisson-logistic/1' });
    expect(doc.profile.heldOut[0].split).toBe('largest-batch');
  });

  it('prints a table by default, and runs CFF', async () => {
    const r = await run(['fuse', 's.safetensors', '--threshold', '0.7']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/threshold 0.7: compression/);
    expect(r.stdout).toMatch(/layer\s+fused\s+blocks\s+surviving/);
    const c = await run([
      'fuse',
      's.safetensors',
      '--mode',
      'cff',
      '--chunk-tokens',
      '16',
      '--window',
      '2',
      '--json',
    ]);
    expect(c.code).toBe(0);
    expect(JSON.parse(c.stdout).thresholds[0].layers).toHaveLength(6);
  });

  it('bad input: exit 2, every problem named, nothing on stdout, no partial profile', async () => {
    const r = await run([
      'fuse',
      's.safetensors',
      '--threshold',
      '0.7,1.5',
      '--mode',
      'xyz',
      '--json',
      '--profile',
      'never.json',
    ]);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(/--threshold\[1\]: 1.5 is outside \[-1, 1\]/);
    expect(r.stderr).toMatch(/--mode: expected bff or cff/);
    const w = await run([
      'fuse',
      's.safetensors',
      '--mode',
      'cff',
      '--window',
      '16',
      '--profile',
      'never.json',
    ]);
    expect(w.code).toBe(2);
    expect(w.stderr).toMatch(
      /--window: a window of 16 chunks x 512 tokens .* larger than the longest prompt \(64 tokens\)/,
    );
    const src = fs.readFileSync(path.join(dir, 's.safetensors'));
    fs.writeFileSync(path.join(dir, 't.safetensors'), src.subarray(0, src.length - 10));
    const t = await run(['fuse', 't.safetensors', '--json', '--profile', 'never.json']);
    expect(t.code).toBe(2);
    expect(t.stdout).toBe('');
    expect(t.stderr).toMatch(/t.safetensors: file is truncated/);
    expect((await run(['fuse'])).code).toBe(2);
    expect(fs.existsSync(path.join(dir, 'never.json'))).toBe(false);
  });
});
