import * as fs from 'node:fs';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { InputError } from '@kvplan/core';
import { openKvSample } from '@kvplan/fusion';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  captureKv,
  evaluateFusion,
  loadModel,
  loadTokenizer,
  modelFusionProfile,
  openModelFolder,
  parsePrompts,
  tokenizePrompts,
  writeCapturedKv,
  type LlamaModel,
  type TokenizedPrompt,
} from '../src';
import {
  LLAMA3_TINY,
  randomTokens,
  refForward,
  relErr,
  TestRng,
  tmpDir,
  writeTinyModel,
  type TinyFolder,
} from './helpers';

const root = tmpDir('kvplan-model-eval-');
let tiny: TinyFolder;
let model: LlamaModel;

beforeAll(() => {
  tiny = writeTinyModel(path.join(root, 'tiny'), LLAMA3_TINY, { seed: 21 });
  model = loadModel(openModelFolder(tiny.dir));
});
afterAll(() => {
  model?.dispose();
  fs.rmSync(root, { recursive: true, force: true });
});

function prompts(lengths: number[], seed: number): TokenizedPrompt[] {
  const rng = new TestRng(seed);
  return lengths.map((n, i) => ({
    id: String(i),
    where: `p:${i + 1}`,
    tokens: randomTokens(rng, n, 300),
    tenant: null,
  }));
}

describe('KV capture', () => {
  it('writes kvplan-kv/1 with the true positions, rope metadata and last-token queries', async () => {
    const ps = prompts([19, 33, 8], 1);
    const before = tf.memory().numTensors;
    const sample = await captureKv(model, ps, { blockSize: 4, numQueries: 2, batchSize: 2 });
    expect(tf.memory().numTensors).toBe(before);
    const file = path.join(root, 'kv.safetensors');
    writeCapturedKv(file, sample, 'F32');
    const r = openKvSample(file);
    try {
      expect(r.info).toMatchObject({
        numSeqs: 3,
        numLayers: 6,
        blockSize: 4,
        maxBlocks: 9,
        numKvHeads: 2,
        headDim: 16,
        numQueries: 2,
        numHeads: 4,
        seqLens: [19, 33, 8],
        positions: [0, 0, 0],
        queryPositions: [
          [17, 18],
          [31, 32],
          [6, 7],
        ],
        synthetic: false,
        model: 'tiny',
      });
      expect(r.info.rope).toEqual({ state: 'applied', theta: 10000, scaling: LLAMA3_TINY.rope_scaling });
      // Sequence 1 (second batch) against the reference: keys after RoPE at their positions.
      const ref = refForward(tiny.cfg, tiny.weights, ps[1].tokens);
      const stride = 9 * 4 * 2 * 16;
      for (const l of [0, 4]) {
        const layer = r.readLayer(l);
        const k: number[] = [];
        const v: number[] = [];
        for (let t = 0; t < 33; t++)
          for (let h = 0; h < 2; h++) {
            k.push(...ref.keys[l][t][h]);
            v.push(...ref.values[l][t][h]);
          }
        expect(relErr(layer.key.subarray(stride, stride + k.length), k)).toBeLessThan(1e-4);
        expect(relErr(layer.value.subarray(stride, stride + v.length), v)).toBeLessThan(1e-4);
        const q: number[] = [];
        for (const t of [31, 32]) for (let h = 0; h < 4; h++) q.push(...ref.queries[l][t][h]);
        const qStride = 2 * 4 * 16;
        expect(relErr(layer.query!.subarray(qStride, 2 * qStride), q)).toBeLessThan(1e-4);
      }
    } finally {
      r.close();
    }
  });

  it('prompts from text go through the tokenizer; ids outside the vocabulary or over the context are refused', () => {
    const tok = loadTokenizer(tiny.dir);
    const recs = parsePrompts(
      ['{"text": "the hat", "tenant": "a"}', '{"token_ids": [5, 6, 7]}', '"in the end"'].join('\n'),
      'p.jsonl',
    );
    const t = tokenizePrompts(recs, tok, { vocabSize: 300, contextLength: 128 });
    expect(t.map((p) => p.tokens[0])).toEqual([0, 5, 0]);
    expect(t[0].tenant).toBe('a');
    const bad = parsePrompts(
      ['{"token_ids": [5, 300]}', JSON.stringify({ token_ids: Array(130).fill(3) })].join('\n'),
      'b.jsonl',
    );
    try {
      tokenizePrompts(bad, tok, { vocabSize: 300, contextLength: 128 });
      expect.unreachable();
    } catch (err) {
      expect(err instanceof InputError).toBe(true);
      const msgs = (err as { issues: Array<{ path: string; message: string }> }).issues;
      expect(msgs.map((m) => m.path)).toEqual(['b.jsonl:1', 'b.jsonl:2']);
      expect(msgs[1].message).toMatch(/130 tokens is longer than the model's context of 128/);
    }
  });

  it('reports every prompt with ids outside the vocabulary in one issue', () => {
    const recs = parsePrompts(
      ['{"token_ids": [5, 300]}', '{"token_ids": [1, 2]}', '{"token_ids": [7, 400, 500, 600, 700]}'].join(
        '\n',
      ),
      'c.jsonl',
    );
    try {
      tokenizePrompts(recs, null, { vocabSize: 300, contextLength: 128 });
      expect.unreachable();
    } catch (err) {
      const msgs = (err as { issues: Array<{ path: string; message: string }> }).issues;
      expect(msgs).toHaveLength(1);
      expect(msgs[0].path).toBe('c.jsonl');
      expect(msgs[0].message).toBe(
        '2 prompts have token ids outside the vocabulary (vocab_size 300): line 1 (300); line 3 (400, 500, 600, ...)',
      );
    }
  });

  it('reads a kvplan trace CSV with quoted text and token_ids columns', () => {
    const csv =
      'arrival_time_s,input_tokens,output_tokens,tenant,text,token_ids\n0,3,1,t1,"a, ""quoted""\nline",\n1,3,1,t2,,"[4,5,6]"\n';
    const recs = parsePrompts(csv, 'trace.csv');
    expect(recs.map((r) => [r.where, r.text, r.tokenIds, r.tenant])).toEqual([
      ['trace.csv:2', 'a, "quoted"\nline', null, 't1'],
      ['trace.csv:4', null, [4, 5, 6], 't2'],
    ]);
  });
});

describe('accuracy under fusion', () => {
  const ps = prompts([40, 36, 44, 38, 41, 37], 2);

  it('a threshold at which nothing fuses gives exactly perfect metrics', async () => {
    const before = tf.memory().numTensors;
    const r = await evaluateFusion(model, ps, {
      thresholds: [1],
      blockSize: 4,
      continuationTokens: 8,
      generateTokens: 6,
      batchSize: 3,
    });
    expect(tf.memory().numTensors).toBe(before);
    const t = r.thresholds[0];
    expect(t.survivingBlocks).toBe(t.totalBlocks);
    expect(t.totalBlocks).toBeGreaterThan(0);
    expect(t.compressionRatio).toBe(1);
    expect(t.nextTokenAgreement).toEqual({ value: 1, interval: [1, 1], n: 6 });
    expect(t.klDivergence).toEqual({ value: 0, interval: [0, 0], n: 6 });
    expect(t.perplexityChange).toEqual({ value: 0, interval: [0, 0], n: 6 });
    expect(t.perplexityFused).toBe(t.perplexityOriginal);
    expect(t.greedyExactMatch.value).toBe(1);
    expect(t.greedyTokenF1).toEqual({ value: 1, interval: [1, 1], n: 6 });
    expect(t.greedyTokenMatch.value).toBe(1);
    expect(t.attentionRelError).toBe(0);
    // Accuracy entries in the fusion profile's shape.
    const agree = r.accuracy.find((a) => a.metric === 'next-token-agreement')!;
    expect(agree).toMatchObject({ threshold: 1, value: 1, interval: [1, 1] });
    expect(agree.how).toMatch(/^measured on tiny, 6 prompts: BFF over batches of 3/);
  });

  it('threshold -1 collapses the cache, and the metrics show the damage', async () => {
    const r = await evaluateFusion(model, ps, {
      thresholds: [-1, 1],
      blockSize: 4,
      continuationTokens: 8,
      generateTokens: 6,
      batchSize: 3,
    });
    const [collapsed, none] = r.thresholds;
    // BFF at -1: every block of a batch's later sequences maps onto the first sequence's.
    expect(collapsed.fusedAwayFraction).toBeGreaterThan(0.6);
    expect(collapsed.compressionRatio!).toBeGreaterThan(2.5);
    expect(collapsed.klDivergence.value).toBeGreaterThan(0.01);
    expect(collapsed.klDivergence.interval![0]).toBeGreaterThan(0);
    expect(collapsed.nextTokenAgreement.value).toBeLessThan(1);
    expect(collapsed.perplexityChange!.value).not.toBe(0);
    expect(collapsed.attentionRelError!).toBeGreaterThan(0.05);
    expect(none.klDivergence.value).toBe(0);
    expect(r.perplexityOriginal).toBe(none.perplexityOriginal);
  });

  it('CFF fuses within each prompt; a profile carries the measured accuracy first', async () => {
    const r = await evaluateFusion(model, ps, {
      thresholds: [0.2, -1],
      fusion: { mode: 'cff', chunkTokens: 8, window: 2 },
      blockSize: 4,
      continuationTokens: 4,
      generateTokens: 3,
      batchSize: 6,
    });
    expect(r.mode).toBe('cff');
    const t = r.thresholds[0];
    expect(t.survivingBlocks).toBeLessThanOrEqual(t.totalBlocks);
    expect(t.nextTokenAgreement.value).toBeGreaterThanOrEqual(0);
    // Threshold -1 fuses every window down, so blocks must disappear.
    const all = r.thresholds[1];
    expect(all.survivingBlocks).toBeLessThan(all.totalBlocks);
    const profile = await modelFusionProfile(r, { mode: 'cff', chunkTokens: 8, window: 2 });
    expect(profile).toMatchObject({
      format: 'kvplan-fusion-profile/1',
      source: 'model',
      model: 'tiny',
      mode: 'cff',
      numLayers: 6,
    });
    expect(profile.accuracy![0].metric).toBe('next-token-agreement');
    expect(profile.accuracy!.some((a) => a.metric === 'attention-output-rel-error')).toBe(true);
  });

  it('refuses prompts too short for the continuation and bad settings, all at once', async () => {
    const issues = await evaluateFusion(model, prompts([5, 40], 3), {
      thresholds: [0.5],
      continuationTokens: 8,
      generateTokens: 0,
    }).then(
      () => [],
      (err: { issues: Array<{ path: string; message: string }> }) => err.issues,
    );
    expect(issues.map((i) => i.path)).toEqual(['options.generateTokens', 'p:1']);
    expect(issues[1].message).toMatch(/5 tokens; at least 9 are needed/);
  });
});
