import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InputError } from '@kvplan/core';
import {
  findModelPreset,
  kvBytesPerToken,
  kvBytesPerTokenPerGpu,
  listModelPresets,
  parameterCounts,
  resolveModel,
  weightBytes,
} from '../src/model';

const ctx = (baseDir = '.') => ({ baseDir, path: 'model' });

function issuesOf(fn: () => unknown): { path: string; message: string }[] {
  try {
    fn();
  } catch (err) {
    if (err instanceof InputError) return err.issues;
    throw err;
  }
  throw new Error('expected an InputError');
}

describe('model presets', () => {
  it('lists every preset DESIGN.md names plus Qwen3-30B-A3B', () => {
    const ids = listModelPresets().map((p) => p.id);
    expect(ids).toEqual(
      expect.arrayContaining([
        'meta-llama/Llama-2-7b-hf',
        'meta-llama/Llama-2-13b-hf',
        'meta-llama/Llama-2-70b-hf',
        'meta-llama/Llama-3.1-8B',
        'meta-llama/Llama-3.1-70B',
        'mistralai/Mistral-7B-v0.1',
        'mistralai/Mixtral-8x7B-v0.1',
        'Qwen/Qwen2.5-7B',
        'Qwen/Qwen3-14B',
        'Qwen/Qwen3-32B',
        'codellama/CodeLlama-34b-hf',
        'Qwen/Qwen3-30B-A3B',
      ]),
    );
  });

  it.each([
    ['meta-llama/Meta-Llama-3.1-8B-Instruct', 'meta-llama/Llama-3.1-8B'],
    ['Llama-3.1-8B', 'meta-llama/Llama-3.1-8B'],
    ['META-LLAMA/LLAMA-3.1-8B', 'meta-llama/Llama-3.1-8B'],
    ['llama-2-7b-chat-hf', 'meta-llama/Llama-2-7b-hf'],
    ['meta-llama/Llama-2-70b-chat-hf', 'meta-llama/Llama-2-70b-hf'],
    ['Qwen/Qwen3-30B-A3B-Instruct-2507', 'Qwen/Qwen3-30B-A3B'],
    ['qwen2.5-7b-instruct', 'Qwen/Qwen2.5-7B'],
    ['codellama/CodeLlama-34b-Instruct-hf', 'codellama/CodeLlama-34b-hf'],
    ['mistralai/Mixtral-8x7B-Instruct-v0.1', 'mistralai/Mixtral-8x7B-v0.1'],
  ])('resolves %s to %s', (name, id) => {
    expect(resolveModel(name, ctx()).id).toBe(id);
  });

  it('does not confuse neighbouring names', () => {
    expect(findModelPreset('Llama-3.1-8B-Base')).toBeNull();
    expect(findModelPreset('Qwen3-30B')).toBeNull();
    expect(findModelPreset('Mistral-7B-v0.2')).toBeNull();
  });

  it('carries the config.json values', () => {
    const l70 = resolveModel('meta-llama/Llama-2-70b-hf', ctx());
    expect(l70).toMatchObject({ numLayers: 80, hiddenSize: 8192, numHeads: 64, numKvHeads: 8, headDim: 128 });
    expect(l70).toMatchObject({
      intermediateSize: 28672,
      vocabSize: 32000,
      maxPositionEmbeddings: 4096,
      dtype: 'float16',
    });
    const moe = resolveModel('Qwen/Qwen3-30B-A3B', ctx());
    expect(moe).toMatchObject({
      numExperts: 128,
      expertsPerToken: 8,
      moeIntermediateSize: 768,
      numKvHeads: 4,
    });
    const mixtral = resolveModel('mistralai/Mixtral-8x7B-v0.1', ctx());
    expect(mixtral).toMatchObject({ numExperts: 8, expertsPerToken: 2, moeIntermediateSize: 14336 });
  });

  it('returns copies: mutating one does not change the table', () => {
    const a = resolveModel('Qwen/Qwen3-14B', ctx());
    a.numLayers = 1;
    expect(resolveModel('Qwen/Qwen3-14B', ctx()).numLayers).toBe(40);
  });

  it('names the presets when a name matches none', () => {
    const issues = issuesOf(() => resolveModel('gpt-17-ultra', ctx(os.tmpdir())));
    expect(issues).toHaveLength(1);
    expect(issues[0].path).toBe('model');
    expect(issues[0].message).toContain('meta-llama/Llama-3.1-8B');
  });
});

describe('parameters, weights and KV bytes', () => {
  // Published parameter counts (model cards): the architecture arithmetic must land on them.
  it.each([
    ['meta-llama/Llama-2-7b-hf', 6.74e9, 6.74e9],
    ['meta-llama/Llama-2-70b-hf', 68.98e9, 68.98e9],
    ['meta-llama/Llama-3.1-8B', 8.03e9, 8.03e9],
    ['mistralai/Mixtral-8x7B-v0.1', 46.7e9, 12.9e9],
    ['Qwen/Qwen3-30B-A3B', 30.5e9, 3.3e9],
    ['Qwen/Qwen3-32B', 32.8e9, 32.8e9],
    ['Qwen/Qwen2.5-7B', 7.61e9, 7.61e9],
  ])('%s has about %d parameters (%d active)', (id, total, active) => {
    const p = parameterCounts(resolveModel(id, ctx()));
    expect(p.total / total).toBeGreaterThan(0.99);
    expect(p.total / total).toBeLessThan(1.01);
    expect(p.activePerToken / active).toBeGreaterThan(0.98);
    expect(p.activePerToken / active).toBeLessThan(1.03);
  });

  it('counts lm_head separately unless tied', () => {
    const m = resolveModel('meta-llama/Llama-3.1-8B', ctx());
    const tied = { ...m, tiedEmbeddings: true };
    expect(parameterCounts(m).total - parameterCounts(tied).total).toBe(m.vocabSize * m.hiddenSize);
  });

  it('sizes weights by dtype, keeping embeddings at 16-bit when quantised', () => {
    const m = resolveModel('meta-llama/Llama-3.1-8B', ctx());
    const p = parameterCounts(m);
    expect(weightBytes(m)).toBe(p.total * 2);
    expect(weightBytes(m, 'float32')).toBe(p.total * 4);
    expect(weightBytes(m, 'fp8')).toBe(p.linear + p.embeddingsAndNorms * 2);
    expect(weightBytes(m, 'int8')).toBe(weightBytes(m, 'fp8'));
    expect(weightBytes(m, 'int4')).toBe(p.linear * 0.5 + p.embeddingsAndNorms * 2);
  });

  it('KV bytes per token: 2 x layers x kvHeads x headDim x bytes', () => {
    const m = resolveModel('meta-llama/Llama-2-7b-hf', ctx());
    expect(kvBytesPerToken(m, 'auto')).toBe(2 * 32 * 32 * 128 * 2);
    expect(kvBytesPerToken(m, 'fp8')).toBe(2 * 32 * 32 * 128);
    expect(kvBytesPerToken(m, 'float32')).toBe(2 * 32 * 32 * 128 * 4);
    const l70 = resolveModel('meta-llama/Llama-2-70b-hf', ctx());
    expect(kvBytesPerTokenPerGpu(l70, 'auto', 4)).toBe(kvBytesPerToken(l70, 'auto') / 4);
    // TP 16 > 8 KV heads: each GPU keeps one (replicated) head.
    expect(kvBytesPerTokenPerGpu(l70, 'auto', 16)).toBe(kvBytesPerToken(l70, 'auto') / 8);
  });
});

describe('Hugging Face config.json', () => {
  let dir: string;
  beforeAll(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kvplan-model-'));
    fs.mkdirSync(path.join(dir, 'tiny'));
    fs.writeFileSync(
      path.join(dir, 'tiny', 'config.json'),
      JSON.stringify({
        _name_or_path: 'acme/tiny-llama',
        architectures: ['LlamaForCausalLM'],
        model_type: 'llama',
        num_hidden_layers: 4,
        hidden_size: 512,
        num_attention_heads: 8,
        intermediate_size: 1376,
        vocab_size: 1000,
        max_position_embeddings: 2048,
        rope_theta: 10000,
        torch_dtype: 'float16',
        tie_word_embeddings: true,
      }),
    );
    fs.writeFileSync(
      path.join(dir, 'vlm.json'),
      JSON.stringify({
        model_type: 'some_vlm',
        torch_dtype: 'bfloat16',
        vision_config: { hidden_size: 1152 },
        text_config: {
          num_hidden_layers: 6,
          hidden_size: 1024,
          num_attention_heads: 16,
          num_key_value_heads: 4,
          head_dim: 96,
          intermediate_size: 4096,
          vocab_size: 5000,
          max_position_embeddings: 8192,
        },
      }),
    );
    fs.writeFileSync(path.join(dir, 'broken.json'), '{"num_hidden_layers": 4,');
    fs.writeFileSync(
      path.join(dir, 'bad.json'),
      JSON.stringify({
        num_hidden_layers: 0,
        hidden_size: 'big',
        num_attention_heads: 8,
        num_key_value_heads: 3,
      }),
    );
  });
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('reads a config.json by path (file or directory) relative to baseDir, defaulting head_dim and KV heads', () => {
    for (const p of ['tiny/config.json', 'tiny', './tiny/config.json']) {
      const m = resolveModel(p, ctx(dir));
      expect(m).toMatchObject({
        id: 'acme/tiny-llama',
        numLayers: 4,
        numHeads: 8,
        numKvHeads: 8,
        headDim: 64,
        tiedEmbeddings: true,
        dtype: 'float16',
        numExperts: 0,
        maxPositionEmbeddings: 2048,
      });
    }
  });

  it('honours text_config nesting, with top-level keys filling the gaps', () => {
    const m = resolveModel('vlm.json', ctx(dir));
    expect(m).toMatchObject({
      numLayers: 6,
      hiddenSize: 1024,
      numKvHeads: 4,
      headDim: 96,
      dtype: 'bfloat16',
      id: 'vlm.json',
    });
  });

  it('accepts the keys inline, and a pasted config with unused keys', () => {
    const m = resolveModel(
      {
        name: 'my-model',
        num_hidden_layers: 2,
        hidden_size: 256,
        num_attention_heads: 4,
        num_key_value_heads: 2,
        intermediate_size: 512,
        vocab_size: 100,
        max_position_embeddings: 1024,
        rope_theta: 500000,
        architectures: ['LlamaForCausalLM'],
      },
      ctx(),
    );
    expect(m).toMatchObject({
      id: 'my-model',
      numKvHeads: 2,
      headDim: 64,
      dtype: 'bfloat16',
      tiedEmbeddings: false,
    });
  });

  it('reports every bad or missing key of a config at once', () => {
    const issues = issuesOf(() => resolveModel('bad.json', ctx(dir)));
    const paths = issues.map((i) => i.path).sort();
    expect(paths).toEqual(
      [
        'model.hidden_size',
        'model.intermediate_size',
        'model.max_position_embeddings',
        'model.num_hidden_layers',
        'model.num_key_value_heads',
        'model.vocab_size',
      ].sort(),
    );
    expect(issues.find((i) => i.path === 'model.hidden_size')?.message).toMatch(/integer.*"big"/);
    expect(issues[0].message).toContain('bad.json');
  });

  it('rejects unknown inline keys, an unreadable file and a missing file', () => {
    const inline = issuesOf(() =>
      resolveModel(
        {
          num_hidden_layer: 2,
          hidden_size: 64,
          num_attention_heads: 4,
          intermediate_size: 8,
          vocab_size: 9,
          max_position_embeddings: 9,
        },
        ctx(),
      ),
    );
    expect(inline.map((i) => i.path)).toEqual(
      expect.arrayContaining(['model.num_hidden_layer', 'model.num_hidden_layers']),
    );
    expect(issuesOf(() => resolveModel('broken.json', ctx(dir)))[0].message).toMatch(/as JSON/);
    expect(issuesOf(() => resolveModel('nope/config.json', ctx(dir)))[0].message).toMatch(
      /neither a model preset/,
    );
    expect(issuesOf(() => resolveModel(42, ctx()))[0].path).toBe('model');
  });

  it('checks MoE keys and GQA divisibility', () => {
    const base = {
      num_hidden_layers: 2,
      hidden_size: 64,
      num_attention_heads: 4,
      vocab_size: 9,
      max_position_embeddings: 9,
    };
    const noTopK = issuesOf(() =>
      resolveModel({ ...base, num_experts: 8, moe_intermediate_size: 32 }, ctx()),
    );
    expect(noTopK.map((i) => i.path)).toEqual(['model.num_experts_per_tok']);
    const gqa = issuesOf(() =>
      resolveModel({ ...base, intermediate_size: 8, num_key_value_heads: 3 }, ctx()),
    );
    expect(gqa.map((i) => i.path)).toEqual(['model.num_key_value_heads']);
    const moe = resolveModel(
      { ...base, num_local_experts: 4, num_experts_per_tok: 2, intermediate_size: 32 },
      ctx(),
    );
    expect(moe).toMatchObject({ numExperts: 4, expertsPerToken: 2, moeIntermediateSize: 32 });
  });
});
