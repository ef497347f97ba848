import { IssueCollector } from '@kvplan/core';
import type { ModelArch } from '../types';
import { parseHfConfig } from './hf-config';

/**
 * Model presets: the architecture keys of each model's Hugging Face config.json, as published on
 * the Hub (the values are typed from those files; keys kvplan does not use are left out). They go
 * through the same parser as a user's config.json, so presets and files cannot disagree.
 */
const PRESET_CONFIGS: Record<string, Record<string, unknown>> = {
  'meta-llama/Llama-2-7b-hf': {
    num_hidden_layers: 32,
    hidden_size: 4096,
    num_attention_heads: 32,
    num_key_value_heads: 32,
    intermediate_size: 11008,
    vocab_size: 32000,
    tie_word_embeddings: false,
    max_position_embeddings: 4096,
    torch_dtype: 'float16',
  },
  'meta-llama/Llama-2-13b-hf': {
    num_hidden_layers: 40,
    hidden_size: 5120,
    num_attention_heads: 40,
    num_key_value_heads: 40,
    intermediate_size: 13824,
    vocab_size: 32000,
    tie_word_embeddings: false,
    max_position_embeddings: 4096,
    torch_dtype: 'float16',
  },
  'meta-llama/Llama-2-70b-hf': {
    num_hidden_layers: 80,
    hidden_size: 8192,
    num_attention_heads: 64,
    num_key_value_heads: 8,
    intermediate_size: 28672,
    vocab_size: 32000,
    tie_word_embeddings: false,
    max_position_embeddings: 4096,
    torch_dtype: 'float16',
  },
  'meta-llama/Llama-3.1-8B': {
    num_hidden_layers: 32,
    hidden_size: 4096,
    num_attention_heads: 32,
    num_key_value_heads: 8,
    head_dim: 128,
    intermediate_size: 14336,
    vocab_size: 128256,
    tie_word_embeddings: false,
    max_position_embeddings: 131072,
    torch_dtype: 'bfloat16',
  },
  'meta-llama/Llama-3.1-70B': {
    num_hidden_layers: 80,
    hidden_size: 8192,
    num_attention_heads: 64,
    num_key_value_heads: 8,
    head_dim: 128,
    intermediate_size: 28672,
    vocab_size: 128256,
    tie_word_embeddings: false,
    max_position_embeddings: 131072,
    torch_dtype: 'bfloat16',
  },
  'mistralai/Mistral-7B-v0.1': {
    num_hidden_layers: 32,
    hidden_size: 4096,
    num_attention_heads: 32,
    num_key_value_heads: 8,
    intermediate_size: 14336,
    vocab_size: 32000,
    tie_word_embeddings: false,
    max_position_embeddings: 32768,
    torch_dtype: 'bfloat16',
  },
  'mistralai/Mixtral-8x7B-v0.1': {
    num_hidden_layers: 32,
    hidden_size: 4096,
    num_attention_heads: 32,
    num_key_value_heads: 8,
    intermediate_size: 14336,
    num_local_experts: 8,
    num_experts_per_tok: 2,
    vocab_size: 32000,
    tie_word_embeddings: false,
    max_position_embeddings: 32768,
    torch_dtype: 'bfloat16',
  },
  'Qwen/Qwen2.5-7B': {
    num_hidden_layers: 28,
    hidden_size: 3584,
    num_attention_heads: 28,
    num_key_value_heads: 4,
    intermediate_size: 18944,
    vocab_size: 152064,
    tie_word_embeddings: false,
    max_position_embeddings: 131072,
    torch_dtype: 'bfloat16',
  },
  'Qwen/Qwen3-14B': {
    num_hidden_layers: 40,
    hidden_size: 5120,
    num_attention_heads: 40,
    num_key_value_heads: 8,
    head_dim: 128,
    intermediate_size: 17408,
    vocab_size: 151936,
    tie_word_embeddings: false,
    max_position_embeddings: 40960,
    torch_dtype: 'bfloat16',
  },
  'Qwen/Qwen3-32B': {
    num_hidden_layers: 64,
    hidden_size: 5120,
    num_attention_heads: 64,
    num_key_value_heads: 8,
    head_dim: 128,
    intermediate_size: 25600,
    vocab_size: 151936,
    tie_word_embeddings: false,
    max_position_embeddings: 40960,
    torch_dtype: 'bfloat16',
  },
  'Qwen/Qwen3-30B-A3B': {
    num_hidden_layers: 48,
    hidden_size: 2048,
    num_attention_heads: 32,
    num_key_value_heads: 4,
    head_dim: 128,
    intermediate_size: 6144,
    moe_intermediate_size: 768,
    num_experts: 128,
    num_experts_per_tok: 8,
    vocab_size: 151936,
    tie_word_embeddings: false,
    max_position_embeddings: 40960,
    torch_dtype: 'bfloat16',
  },
  'codellama/CodeLlama-34b-hf': {
    num_hidden_layers: 48,
    hidden_size: 8192,
    num_attention_heads: 64,
    num_key_value_heads: 8,
    intermediate_size: 22016,
    vocab_size: 32000,
    tie_word_embeddings: false,
    max_position_embeddings: 16384,
    torch_dtype: 'bfloat16',
  },
};

function buildPresets(): ModelArch[] {
  const issues = new IssueCollector();
  const out: ModelArch[] = [];
  for (const [id, cfg] of Object.entries(PRESET_CONFIGS)) {
    const arch = parseHfConfig(cfg, { path: id, issues, fallbackId: id, source: 'preset', strictKeys: true });
    if (arch) out.push(arch);
  }
  // A broken preset table is a programming error, not bad user input.
  if (!issues.ok)
    throw new Error(`model preset table is invalid: ${issues.issues.map((i) => i.path).join(', ')}`);
  return out;
}

const PRESETS: readonly ModelArch[] = buildPresets();

/**
 * The matching key of a model name: lower case, organisation dropped, a `Meta-` prefix dropped,
 * `-hf`, `-chat` and `-instruct` (with an optional release tag such as `-2507`) dropped wherever
 * they stand as a dash-separated part.
 */
export function modelMatchKey(name: string): string {
  let s = name.trim().toLowerCase();
  const slash = s.lastIndexOf('/');
  if (slash >= 0) s = s.slice(slash + 1);
  s = s.replace(/^meta-/, '');
  let prev = '';
  while (prev !== s) {
    prev = s;
    s = s.replace(/-instruct(-\d{4})?(?=-|$)/, '').replace(/-(hf|chat)(?=-|$)/, '');
  }
  return s;
}

const BY_KEY = new Map<string, ModelArch>(PRESETS.map((p) => [modelMatchKey(p.id), p]));

/** The preset a model name resolves to (see modelMatchKey), or null. */
export function findModelPreset(name: string): ModelArch | null {
  const p = BY_KEY.get(modelMatchKey(name));
  return p ? { ...p } : null;
}

/** Every model preset (copies), in the order of the table. */
export function listModelPresets(): ModelArch[] {
  return PRESETS.map((p) => ({ ...p }));
}
