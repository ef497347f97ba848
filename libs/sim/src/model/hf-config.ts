import type { IssueCollector } from '@kvplan/core';
import type { Dtype, ModelArch } from '../types';
import { DTYPE_SPELLINGS, parseDtype } from './dtypes';

/**
 * The Hugging Face config.json keys kvplan reads. Aliases (GPT-2 style `n_layer`, DeepSeek's
 * `n_routed_experts`, transformers >= 4.56 `dtype`) map onto the same fields.
 */
export const HF_MODEL_KEYS = [
  'num_hidden_layers',
  'hidden_size',
  'num_attention_heads',
  'num_key_value_heads',
  'head_dim',
  'intermediate_size',
  'vocab_size',
  'tie_word_embeddings',
  'num_local_experts',
  'num_experts',
  'n_routed_experts',
  'num_experts_per_tok',
  'moe_intermediate_size',
  'max_position_embeddings',
  'torch_dtype',
  'dtype',
  'text_config',
  'n_layer',
  'n_embd',
  'n_head',
  'n_inner',
  'n_positions',
] as const;

/**
 * Keys a real config.json carries that do not change memory or FLOPs as kvplan models them. An
 * inline model may contain them (so a pasted config.json works); anything else is a typo and is
 * rejected.
 */
export const HF_IGNORED_KEYS = [
  '_name_or_path',
  'architectures',
  'model_type',
  'transformers_version',
  'attention_bias',
  'attention_dropout',
  'bos_token_id',
  'eos_token_id',
  'pad_token_id',
  'hidden_act',
  'initializer_range',
  'rms_norm_eps',
  'layer_norm_eps',
  'rope_theta',
  'rope_scaling',
  'rope_parameters',
  'partial_rotary_factor',
  'use_cache',
  'pretraining_tp',
  'mlp_bias',
  'sliding_window',
  'use_sliding_window',
  'max_window_layers',
  'layer_types',
  'decoder_sparse_step',
  'mlp_only_layers',
  'norm_topk_prob',
  'output_router_logits',
  'router_aux_loss_coef',
  'router_jitter_noise',
  'qkv_bias',
  'quantization_config',
  'auto_map',
  'torchscript',
  'use_qk_norm',
];

export interface HfParseContext {
  /** Issue path prefix, e.g. `model`. */
  path: string;
  issues: IssueCollector;
  /** Id when the config has no `_name_or_path` (a file path, or `inline`). */
  fallbackId: string;
  /** Where the keys came from, for messages (`config file models/x.json`), or null for inline. */
  source: string | null;
  /** Reject keys outside HF_MODEL_KEYS, HF_IGNORED_KEYS and `id`/`name` (inline models). */
  strictKeys: boolean;
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/**
 * Turns a Hugging Face config (parsed config.json or the same keys inline) into a ModelArch.
 * Honours `text_config` nesting (multimodal configs keep the language model there; top-level keys
 * fill what it lacks, e.g. `torch_dtype`). Missing `head_dim` = hidden / heads; missing
 * `num_key_value_heads` = heads; missing `tie_word_embeddings` = false (the default of the Llama,
 * Mistral and Qwen config classes); missing `torch_dtype` = bfloat16. Returns null after adding
 * issues when a required key is missing or wrong.
 */
export function parseHfConfig(raw: unknown, ctx: HfParseContext): ModelArch | null {
  const where = ctx.source ? ` (in ${ctx.source})` : '';
  if (!isRecord(raw)) {
    ctx.issues.add(ctx.path, `expected a Hugging Face config object${where}, got ${describe(raw)}`);
    return null;
  }
  const before = ctx.issues.issues.length;
  if (ctx.strictKeys) {
    const allowed = new Set<string>([...HF_MODEL_KEYS, ...HF_IGNORED_KEYS, 'id', 'name']);
    for (const k of Object.keys(raw)) {
      if (!allowed.has(k))
        ctx.issues.add(
          `${ctx.path}.${k}`,
          `unknown key; an inline model takes Hugging Face config.json keys (snake_case): ${HF_MODEL_KEYS.filter((x) => x !== 'text_config').join(', ')}`,
        );
    }
  }
  let cfg: Record<string, unknown> = raw;
  let prefix = ctx.path;
  if (raw.text_config !== undefined && raw.text_config !== null) {
    if (!isRecord(raw.text_config)) {
      ctx.issues.add(
        `${ctx.path}.text_config`,
        `expected an object${where}, got ${describe(raw.text_config)}`,
      );
      return null;
    }
    cfg = { ...raw, ...raw.text_config };
    prefix = `${ctx.path}.text_config`;
  }

  /** The first present key of `keys` as an integer >= min (1 unless given). */
  const num = (keys: string[], opts: { required: boolean; min?: number }): number | undefined => {
    for (const k of keys) {
      const v = cfg[k];
      if (v === undefined || v === null) continue;
      const min = opts.min ?? 1;
      if (typeof v !== 'number' || !Number.isInteger(v) || v < min) {
        ctx.issues.add(`${prefix}.${k}`, `expected an integer >= ${min}${where}, got ${describe(v)}`);
        return undefined;
      }
      return v as number;
    }
    if (opts.required) ctx.issues.add(`${prefix}.${keys[0]}`, `required${where}: missing`);
    return undefined;
  };

  const numLayers = num(['num_hidden_layers', 'n_layer'], { required: true });
  const hiddenSize = num(['hidden_size', 'n_embd'], { required: true });
  const numHeads = num(['num_attention_heads', 'n_head'], { required: true });
  const numKvHeadsRaw = num(['num_key_value_heads'], { required: false });
  const headDimRaw = num(['head_dim'], { required: false });
  const numExperts =
    num(['num_local_experts', 'num_experts', 'n_routed_experts'], { required: false, min: 0 }) ?? 0;
  const expertsPerTokenRaw = num(['num_experts_per_tok'], { required: false });
  const moeIntermediateRaw = num(['moe_intermediate_size'], { required: false });
  const intermediateRaw = num(['intermediate_size', 'n_inner'], {
    required: numExperts === 0 || moeIntermediateRaw === undefined,
  });
  const vocabSize = num(['vocab_size'], { required: true });
  const maxPos = num(['max_position_embeddings', 'n_positions'], { required: true });

  let tied = false;
  const tie = cfg.tie_word_embeddings;
  if (tie !== undefined && tie !== null) {
    if (typeof tie === 'boolean') tied = tie;
    else
      ctx.issues.add(`${prefix}.tie_word_embeddings`, `expected true or false${where}, got ${describe(tie)}`);
  }

  let dtype: Dtype = 'bfloat16';
  const dtKey = cfg.torch_dtype !== undefined && cfg.torch_dtype !== null ? 'torch_dtype' : 'dtype';
  const dt = cfg[dtKey];
  if (dt !== undefined && dt !== null) {
    const parsed = typeof dt === 'string' ? parseDtype(dt) : null;
    if (parsed) dtype = parsed;
    else
      ctx.issues.add(
        `${prefix}.${dtKey}`,
        `expected one of ${DTYPE_SPELLINGS.join(', ')}${where}, got ${describe(dt)}`,
      );
  }

  if (numExperts > 0 && expertsPerTokenRaw === undefined)
    ctx.issues.add(
      `${prefix}.num_experts_per_tok`,
      `required for a mixture-of-experts model${where}: missing`,
    );
  if (numExperts > 0 && expertsPerTokenRaw !== undefined && expertsPerTokenRaw > numExperts)
    ctx.issues.add(
      `${prefix}.num_experts_per_tok`,
      `${expertsPerTokenRaw} experts per token but only ${numExperts} experts${where}`,
    );

  if (
    hiddenSize !== undefined &&
    numHeads !== undefined &&
    headDimRaw === undefined &&
    hiddenSize % numHeads !== 0
  )
    ctx.issues.add(
      `${prefix}.head_dim`,
      `required${where} when hidden_size ${hiddenSize} is not a multiple of num_attention_heads ${numHeads}`,
    );
  if (numHeads !== undefined && numKvHeadsRaw !== undefined && numHeads % numKvHeadsRaw !== 0)
    ctx.issues.add(
      `${prefix}.num_key_value_heads`,
      `num_attention_heads ${numHeads} must be a multiple of num_key_value_heads ${numKvHeadsRaw}${where}`,
    );

  if (ctx.issues.issues.length > before) return null;
  // Everything required is present and valid past this point.
  const hidden = hiddenSize as number;
  const heads = numHeads as number;
  const intermediate = intermediateRaw ?? (moeIntermediateRaw as number);
  const nameOrPath = typeof raw._name_or_path === 'string' && raw._name_or_path ? raw._name_or_path : null;
  const explicitId = typeof raw.id === 'string' ? raw.id : typeof raw.name === 'string' ? raw.name : null;
  return {
    id: explicitId ?? nameOrPath ?? ctx.fallbackId,
    numLayers: numLayers as number,
    hiddenSize: hidden,
    numHeads: heads,
    numKvHeads: numKvHeadsRaw ?? heads,
    headDim: headDimRaw ?? hidden / heads,
    intermediateSize: intermediate,
    vocabSize: vocabSize as number,
    tiedEmbeddings: tied,
    numExperts,
    expertsPerToken: numExperts > 0 ? (expertsPerTokenRaw as number) : 0,
    moeIntermediateSize: moeIntermediateRaw ?? intermediate,
    maxPositionEmbeddings: maxPos as number,
    dtype,
  };
}

/** A short rendering of a value for messages. */
export function describe(v: unknown): string {
  if (v === undefined) return 'nothing';
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  if (typeof v === 'object') return 'an object';
  if (typeof v === 'string') return JSON.stringify(v.length > 60 ? `${v.slice(0, 57)}...` : v);
  return String(v);
}
