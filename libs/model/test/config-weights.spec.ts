import * as fs from 'node:fs';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { InputError } from '@kvplan/core';
import { afterAll, describe, expect, it } from 'vitest';
import {
  estimateMemory,
  HONOURED_CONFIG_FIELDS,
  loadModel,
  openModelFolder,
  parseLlamaConfig,
  SafetensorsFile,
  WASM_HEAP_BYTES,
  writeSafetensors,
} from '../src';
import { LLAMA3_TINY, QWEN2_TINY, tmpDir, writeSafetensorsRaw, writeTinyModel } from './helpers';

const root = tmpDir('kvplan-model-cfg-');
afterAll(() => fs.rmSync(root, { recursive: true, force: true }));

function issuesOf(f: () => unknown): Array<{ path: string; message: string }> {
  try {
    f();
  } catch (err) {
    if (err instanceof InputError) return err.issues;
    throw err;
  }
  throw new Error('expected an input error');
}

// Real configs' shapes (only the fields that matter), as published.
const LLAMA31_8B = {
  architectures: ['LlamaForCausalLM'],
  attention_bias: false,
  attention_dropout: 0.0,
  bos_token_id: 128000,
  eos_token_id: 128001,
  hidden_act: 'silu',
  hidden_size: 4096,
  initializer_range: 0.02,
  intermediate_size: 14336,
  max_position_embeddings: 131072,
  mlp_bias: false,
  model_type: 'llama',
  num_attention_heads: 32,
  num_hidden_layers: 32,
  num_key_value_heads: 8,
  pretraining_tp: 1,
  rms_norm_eps: 1e-5,
  rope_scaling: {
    factor: 8.0,
    low_freq_factor: 1.0,
    high_freq_factor: 4.0,
    original_max_position_embeddings: 8192,
    rope_type: 'llama3',
  },
  rope_theta: 500000.0,
  tie_word_embeddings: false,
  torch_dtype: 'bfloat16',
  transformers_version: '4.43.0.dev0',
  use_cache: true,
  vocab_size: 128256,
};

describe('config.json', () => {
  it('reads a Llama-3.1 config: GQA, llama3 rope scaling, untied head', () => {
    const c = parseLlamaConfig(LLAMA31_8B);
    expect(c).toMatchObject({
      modelType: 'llama',
      numKvHeads: 8,
      headDim: 128,
      ropeTheta: 500000,
      contextLength: 131072,
      tieWordEmbeddings: false,
      qkvBias: false,
      eosTokenIds: [128001],
    });
    expect(c.ropeScaling).toMatchObject({ rope_type: 'llama3', factor: 8 });
    expect(c.warnings).toEqual([]);
    // Fields outside the honoured list are the ones that do not change inference.
    expect(Object.keys(LLAMA31_8B).filter((k) => !HONOURED_CONFIG_FIELDS.includes(k))).toEqual([
      'attention_dropout',
      'initializer_range',
      'pretraining_tp',
      'transformers_version',
      'use_cache',
    ]);
  });

  it('Qwen2: biases on q/k/v, sliding window off unless use_sliding_window', () => {
    const c = parseLlamaConfig(QWEN2_TINY);
    expect(c).toMatchObject({
      qkvBias: true,
      outputBias: false,
      tieWordEmbeddings: true,
      slidingWindow: null,
      contextLength: 96,
    });
    const on = parseLlamaConfig({ ...QWEN2_TINY, use_sliding_window: true });
    expect(on.contextLength).toBe(32);
  });

  it('Mistral v0.1: sliding_window below the context limits sequences to the window, and says so', () => {
    const c = parseLlamaConfig({
      model_type: 'mistral',
      vocab_size: 32000,
      hidden_size: 4096,
      intermediate_size: 14336,
      num_hidden_layers: 32,
      num_attention_heads: 32,
      num_key_value_heads: 8,
      max_position_embeddings: 32768,
      sliding_window: 4096,
      rope_theta: 10000,
    });
    expect(c.contextLength).toBe(4096);
    expect(c.warnings.join('\n')).toMatch(/sliding_window 4096 < max_position_embeddings 32768/);
  });

  it('refuses what the decoder does not implement, every problem at once', () => {
    const issues = issuesOf(() =>
      parseLlamaConfig({
        ...LLAMA31_8B,
        num_hidden_layers: '32',
        num_key_value_heads: 5,
        hidden_act: 'gelu',
        mlp_bias: true,
        rope_scaling: { rope_type: 'yarn', factor: 4 },
        tie_word_embeddings: 'no',
      }),
    );
    const byPath = Object.fromEntries(issues.map((i) => [i.path, i.message]));
    expect(byPath['config.json:num_hidden_layers']).toMatch(/expected a positive integer, got "32"/);
    expect(byPath['config.json:num_key_value_heads']).toMatch(/does not divide num_attention_heads 32/);
    expect(byPath['config.json:hidden_act']).toMatch(/not supported/);
    expect(byPath['config.json:mlp_bias']).toMatch(/not supported/);
    expect(byPath['config.json:rope_scaling.rope_type']).toMatch(
      /"yarn" is not supported.*default, linear, llama3/,
    );
    expect(byPath['config.json:tie_word_embeddings']).toMatch(/expected true or false/);
  });

  it('refuses other architectures and quantized checkpoints; lists unknown fields as ignored', () => {
    const issues = issuesOf(() =>
      parseLlamaConfig({
        ...LLAMA31_8B,
        model_type: 'gemma',
        architectures: ['GemmaForCausalLM'],
        quantization_config: { bits: 4 },
      }),
    );
    expect(issues.map((i) => i.path).sort()).toEqual([
      'config.json:architectures',
      'config.json:model_type',
      'config.json:quantization_config',
    ]);
    const c = parseLlamaConfig({ ...LLAMA31_8B, some_new_field: 1 });
    expect(c.warnings).toEqual(['config.json:some_new_field is not a field kvplan knows; ignored']);
  });
});

describe('weights folder', () => {
  it('opens one file or shards, counts parameters, reads F16 weights', () => {
    const a = writeTinyModel(path.join(root, 'single'), LLAMA3_TINY, { tokenizer: false });
    const b = writeTinyModel(path.join(root, 'sharded'), QWEN2_TINY, { shards: 3, dtype: 'BF16' });
    const fa = openModelFolder(a.dir);
    const fb = openModelFolder(b.dir);
    const count = (w: typeof a.weights): number => [...w.values()].reduce((s, t) => s + t.data.length, 0);
    expect(fa.numParameters).toBe(count(a.weights));
    expect(fb.numParameters).toBe(count(b.weights));
    expect(fb.files).toHaveLength(3);
    expect(fb.storedDtypes).toEqual(['BF16']);
    expect(fa.tokenizerFile).toBeNull();
    expect(fb.tokenizerFile).not.toBeNull();

    // Hand-made F16 bit patterns: 1, -2, 0.5, 65504, 2^-24 (smallest subnormal), -0.
    const f = path.join(root, 'half.safetensors');
    writeSafetensorsRaw(f, [
      {
        name: 'x',
        dtype: 'F16',
        shape: [6],
        bits: Uint16Array.from([0x3c00, 0xc000, 0x3800, 0x7bff, 0x0001, 0x8000]),
      },
    ]);
    const sf = SafetensorsFile.open(f);
    expect(Array.from(sf.read('x'))).toEqual([1, -2, 0.5, 65504, 2 ** -24, -0]);
    sf.close();
  });

  it("the library's safetensors writer round-trips through the reader (F32 exact, BF16 rounded)", () => {
    const f = path.join(root, 'rt.safetensors');
    const data = Float32Array.from([1.5, -3.25, 1 / 3, 1e-3]);
    writeSafetensors(f, [
      { name: 'a', dtype: 'F32', shape: [2, 2], data },
      { name: 'b', dtype: 'BF16', shape: [4], data },
    ]);
    const sf = SafetensorsFile.open(f);
    expect(Array.from(sf.read('a'))).toEqual(Array.from(data));
    const b = sf.read('b');
    expect(b[0]).toBe(1.5);
    expect(b[1]).toBe(-3.25);
    expect(Math.abs(b[2] - 1 / 3)).toBeLessThan(2e-3);
    sf.close();
  });

  it('a missing shard is named, with what maps to it', () => {
    const b = writeTinyModel(path.join(root, 'noshard'), QWEN2_TINY, { shards: 3 });
    fs.rmSync(path.join(b.dir, 'model-00002-of-00003.safetensors'));
    const issues = issuesOf(() => openModelFolder(b.dir));
    expect(issues).toHaveLength(1);
    expect(issues[0].path).toBe('model-00002-of-00003.safetensors');
    expect(issues[0].message).toMatch(/shard is missing.*maps \d+ tensors to it/);
    expect(issuesOf(() => openModelFolder(b.dir, 'noshard/'))[0].path).toBe(
      'noshard/model-00002-of-00003.safetensors',
    );
    expect(issuesOf(() => openModelFolder(path.join(root, 'nosuch'), 'nosuch/'))).toEqual([
      { path: 'nosuch', message: 'model folder does not exist' },
    ]);
  });

  it('tensor shapes are checked against the config; missing and extra tensors are listed', () => {
    const a = writeTinyModel(path.join(root, 'badshape'), LLAMA3_TINY);
    const cfg = { ...LLAMA3_TINY, num_key_value_heads: 4, num_hidden_layers: 7 };
    fs.writeFileSync(path.join(a.dir, 'config.json'), JSON.stringify(cfg));
    const issues = issuesOf(() => openModelFolder(a.dir));
    const text = issues.map((i) => `${i.path}: ${i.message}`).join('\n');
    expect(text).toMatch(
      /model\.safetensors:model\.layers\.0\.self_attn\.k_proj\.weight: shape \[32, 64\] disagrees with config\.json: expected \[64, 64\] \(num_key_value_heads 4 x head_dim 16, hidden_size\)/,
    );
    expect(text).toMatch(/missing 9 tensors the config needs: model\.layers\.6\./);
    const b = writeTinyModel(path.join(root, 'extra'), LLAMA3_TINY);
    fs.writeFileSync(
      path.join(b.dir, 'config.json'),
      JSON.stringify({ ...LLAMA3_TINY, num_hidden_layers: 5 }),
    );
    expect(issuesOf(() => openModelFolder(b.dir))[0].message).toMatch(
      /9 tensors that a llama decoder of this config does not have.*model\.layers\.5\./,
    );
  });

  it('a config field of the wrong type is reported from the folder', () => {
    const a = writeTinyModel(path.join(root, 'badcfg'), LLAMA3_TINY);
    fs.writeFileSync(
      path.join(a.dir, 'config.json'),
      JSON.stringify({ ...LLAMA3_TINY, rms_norm_eps: '1e-5' }),
    );
    expect(issuesOf(() => openModelFolder(a.dir))).toEqual([
      { path: 'config.json:rms_norm_eps', message: 'expected a positive number, got "1e-5"' },
    ]);
  });

  it('a truncated shard is an input error, not a crash', () => {
    const a = writeTinyModel(path.join(root, 'trunc'), LLAMA3_TINY);
    const f = path.join(a.dir, 'model.safetensors');
    fs.truncateSync(f, fs.statSync(f).size - 100);
    expect(issuesOf(() => openModelFolder(a.dir))[0].message).toMatch(/file is truncated/);
  });
});

describe('memory', () => {
  it('an 8B model does not fit the wasm heap; a tiny one does', () => {
    const big = estimateMemory(parseLlamaConfig(LLAMA31_8B), null, WASM_HEAP_BYTES);
    expect(big.fits).toBe(false);
    expect(big.weightBytes).toBeGreaterThan(28e9);
    const small = estimateMemory(parseLlamaConfig(LLAMA3_TINY), { batch: 8, tokens: 64 }, WASM_HEAP_BYTES);
    expect(small.fits).toBe(true);
  });

  it('loading is refused before any tensor is made when the weights do not fit', () => {
    const a = writeTinyModel(path.join(root, 'limit'), LLAMA3_TINY);
    const before = tf.memory().numTensors;
    const issues = issuesOf(() =>
      loadModel(openModelFolder(a.dir), { memoryLimitBytes: 100_000, backendName: 'wasm' }),
    );
    expect(issues[0].message).toMatch(
      /^limit \(0\.\d\dM parameters\) needs about 0\.\d MiB on the wasm backend .* more than its 0\.1 MiB/,
    );
    expect(tf.memory().numTensors).toBe(before);
  });
});
