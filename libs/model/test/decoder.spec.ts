import * as fs from 'node:fs';
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KvCache, loadModel, loadTokenizer, openModelFolder, type LlamaModel } from '../src';
import {
  LLAMA3_TINY,
  QWEN2_TINY,
  randomTokens,
  refForward,
  relErr,
  TestRng,
  tmpDir,
  writeTinyModel,
  type TinyFolder,
} from './helpers';

const root = tmpDir('kvplan-model-dec-');
afterAll(() => fs.rmSync(root, { recursive: true, force: true }));

let llama: TinyFolder;
let qwen: TinyFolder;
let mLlama: LlamaModel;
let mQwen: LlamaModel;

beforeAll(() => {
  // Llama-3 style: GQA, llama3 rope scaling, untied head, f32, one file.
  llama = writeTinyModel(`${root}/llama`, LLAMA3_TINY, { seed: 11, dtype: 'F32' });
  // Qwen2 style: q/k/v biases, tied embeddings, bf16, three shards.
  qwen = writeTinyModel(`${root}/qwen`, QWEN2_TINY, { seed: 12, dtype: 'BF16', shards: 3 });
  mLlama = loadModel(openModelFolder(llama.dir));
  mQwen = loadModel(openModelFolder(qwen.dir));
});
afterAll(() => {
  mLlama?.dispose();
  mQwen?.dispose();
});

function rows(logits: Float32Array, V: number, b: number, nRows: number, r: number): Float32Array {
  return logits.subarray((b * nRows + r) * V, (b * nRows + r + 1) * V);
}

describe('the decoder against a float64 reference', () => {
  for (const which of ['llama', 'qwen'] as const)
    for (const attention of ['sliced', 'batched'] as const)
      it(`${which}, ${attention} attention: every position's logits within 1e-4 relative`, () => {
        const f = which === 'llama' ? llama : qwen;
        const m = which === 'llama' ? mLlama : mQwen;
        const tokens = randomTokens(new TestRng(3), 40, f.cfg.vocab_size);
        const ref = refForward(f.cfg, f.weights, tokens);
        m.attention = attention;
        let r;
        try {
          r = m.forward({ tokens: Int32Array.from(tokens), batch: 1 }, null, { logits: 'all' });
        } finally {
          m.attention = 'auto';
        }
        r.cache.dispose();
        const V = f.cfg.vocab_size;
        let worst = 0;
        for (let t = 0; t < tokens.length; t++)
          worst = Math.max(worst, relErr(rows(r.logits!, V, 0, tokens.length, t), ref.logits[t]));
        expect(worst).toBeLessThan(1e-4);
        // The logits are far from trivial (the check would catch a wrong layer).
        expect(Math.max(...ref.logits[39].map(Math.abs))).toBeGreaterThan(1);
      });

  it('keys and values in the cache are the reference K (after RoPE) and V, and queries the rotated Q', () => {
    const tokens = randomTokens(new TestRng(4), 21, 300);
    const ref = refForward(llama.cfg, llama.weights, tokens);
    const r = mLlama.forward({ tokens: Int32Array.from(tokens), batch: 1 }, null, {
      logits: 'none',
      queries: 3,
    });
    try {
      const bs = 4;
      for (const l of [0, 3, 5]) {
        const { key, value } = r.cache.layerBlocks(l, bs);
        const kRef: number[] = [];
        const vRef: number[] = [];
        for (let t = 0; t < 21; t++)
          for (let h = 0; h < 2; h++) {
            kRef.push(...ref.keys[l][t][h]);
            vRef.push(...ref.values[l][t][h]);
          }
        expect(relErr(key.subarray(0, kRef.length), kRef)).toBeLessThan(1e-4);
        expect(relErr(value.subarray(0, vRef.length), vRef)).toBeLessThan(1e-4);
        expect(Array.from(key.subarray(kRef.length)).every((x) => x === 0)).toBe(true);
        const qRef: number[] = [];
        for (let t = 18; t < 21; t++) for (let h = 0; h < 4; h++) qRef.push(...ref.queries[l][t][h]);
        expect(relErr(r.queries![l], qRef)).toBeLessThan(1e-4);
      }
    } finally {
      r.cache.dispose();
    }
  });
});

describe('batching and the KV cache', () => {
  for (const attention of ['sliced', 'batched'] as const)
    it(`a left-padded batch gives each prompt the logits it gets alone (${attention})`, () => {
      const rng = new TestRng(5);
      const prompts = [9, 23, 1, 16].map((n) => randomTokens(rng, n, 300));
      mQwen.attention = attention;
      const r = mQwen.prefill(prompts);
      mQwen.attention = 'auto';
      r.cache.dispose();
      const V = 300;
      prompts.forEach((p, b) => {
        const ref = refForward(qwen.cfg, qwen.weights, p);
        expect(relErr(rows(r.logits!, V, b, 1, 0), ref.logits[p.length - 1])).toBeLessThan(1e-4);
      });
    });

  it('prefill then token-by-token decode equals a full recompute, logits and cache', () => {
    const rng = new TestRng(6);
    const full = [randomTokens(rng, 30, 300), randomTokens(rng, 30, 300)];
    const cut = [12, 20];
    const pre = mLlama.prefill(full.map((p, b) => p.slice(0, cut[b])));
    // Decode the rest of each row one token at a time (rows advance together; the shorter
    // prefix decodes its own next tokens).
    let cache = pre.cache;
    const steps = 10;
    const got: Float32Array[] = [];
    for (let s = 0; s < steps; s++) {
      const next = Int32Array.from(full, (p, b) => p[cut[b] + s]);
      const r = mLlama.forward({ tokens: next, batch: 2 }, cache, { logits: 'last' });
      cache.dispose();
      cache = r.cache;
      got.push(r.logits!);
    }
    const V = 300;
    try {
      for (let b = 0; b < 2; b++) {
        const n = cut[b] + steps;
        const whole = mLlama.forward({ tokens: Int32Array.from(full[b].slice(0, n)), batch: 1 }, null, {
          logits: 'all',
        });
        try {
          for (let s = 0; s < steps; s++)
            expect(relErr(rows(got[s], V, b, 1, 0), rows(whole.logits!, V, 0, n, cut[b] + s))).toBeLessThan(
              1e-5,
            );
          for (const l of [0, 5]) {
            const a = cache.layerBlocks(l, 8);
            const w = whole.cache.layerBlocks(l, 8);
            const per = a.maxBlocks * 8 * 2 * 16;
            const mine = a.key.subarray(b * per, b * per + n * 32);
            expect(relErr(mine, w.key.subarray(0, n * 32))).toBeLessThan(1e-5);
            expect(
              relErr(a.value.subarray(b * per, b * per + n * 32), w.value.subarray(0, n * 32)),
            ).toBeLessThan(1e-5);
          }
        } finally {
          whole.cache.dispose();
        }
      }
    } finally {
      cache.dispose();
    }
  });

  it('a cache rebuilt from its own blocks continues exactly like the original', () => {
    const rng = new TestRng(8);
    const prompts = [randomTokens(rng, 13, 300), randomTokens(rng, 7, 300)];
    const pre = mLlama.prefill(prompts);
    const layers = Array.from({ length: 6 }, (_, l) => pre.cache.layerBlocks(l, 4));
    const rebuilt = KvCache.fromBlocks(
      layers,
      { maxBlocks: layers[0].maxBlocks, blockSize: 4, numKvHeads: 2, headDim: 16 },
      [13, 7],
    );
    const next = Int32Array.from([5, 6]);
    const a = mLlama.forward({ tokens: next, batch: 2 }, pre.cache, { logits: 'last' });
    const b = mLlama.forward({ tokens: next, batch: 2 }, rebuilt, { logits: 'last' });
    expect(Array.from(b.logits!)).toEqual(Array.from(a.logits!));
    for (const c of [pre.cache, rebuilt, a.cache, b.cache]) c.dispose();
  });
});

describe('tensor discipline', () => {
  it('forward, prefill and decode leave no tensor behind once caches are disposed', () => {
    const before = tf.memory().numTensors;
    const pre = mLlama.prefill([randomTokens(new TestRng(9), 11, 300), [3, 4, 5]], { queries: 2 });
    const r = mLlama.forward({ tokens: Int32Array.from([7, 8]), batch: 2 }, pre.cache, { logits: 'all' });
    const rebuilt = KvCache.fromBlocks(
      Array.from({ length: 6 }, (_, l) => r.cache.layerBlocks(l, 4)),
      { maxBlocks: 3, blockSize: 4, numKvHeads: 2, headDim: 16 },
      [12, 4],
    );
    pre.cache.dispose();
    r.cache.dispose();
    rebuilt.dispose();
    expect(tf.memory().numTensors).toBe(before);
  });

  it('a bad token id throws without leaking', () => {
    const before = tf.memory().numTensors;
    expect(() =>
      mLlama.forward({ tokens: Int32Array.from([1, 300]), batch: 1 }, null, { logits: 'last' }),
    ).toThrow(/outside the vocabulary/);
    expect(tf.memory().numTensors).toBe(before);
  });

  it('loading and disposing a model returns every weight tensor', () => {
    const before = tf.memory().numTensors;
    const m = loadModel(openModelFolder(qwen.dir));
    expect(tf.memory().numTensors).toBeGreaterThan(before);
    m.dispose();
    expect(tf.memory().numTensors).toBe(before);
  });
});

describe('tokenizer', () => {
  it("loads the folder's tokenizer.json and round-trips text with a leading <s>", () => {
    const tok = loadTokenizer(llama.dir);
    const ids = tok.encode('the cat sat in the hat');
    expect(ids[0]).toBe(0);
    expect(ids).toContain(261); // 'Ġthe' merge
    expect(ids.every((i) => i < 300)).toBe(true);
    expect(tok.decode(ids.slice(1))).toBe('the cat sat in the hat');
  });
});
