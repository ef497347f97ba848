import { InputError, IssueCollector } from '@kvplan/core';
import { ropeInverseFrequencies } from '@kvplan/fusion';

/** The Llama-family architectures the decoder runs. */
export type ModelType = 'llama' | 'mistral' | 'qwen2';
export const MODEL_TYPES: readonly ModelType[] = ['llama', 'mistral', 'qwen2'];

const ARCHITECTURES: Record<string, ModelType> = {
  LlamaForCausalLM: 'llama',
  MistralForCausalLM: 'mistral',
  Qwen2ForCausalLM: 'qwen2',
};

/** A Hugging Face config.json of a Llama-family model, as the decoder uses it. */
export interface LlamaConfig {
  modelType: ModelType;
  vocabSize: number;
  hiddenSize: number;
  intermediateSize: number;
  numLayers: number;
  numHeads: number;
  numKvHeads: number;
  headDim: number;
  rmsNormEps: number;
  ropeTheta: number;
  /** Hugging Face `rope_scaling` (types default, linear, llama3), or null. */
  ropeScaling: Record<string, unknown> | null;
  maxPositionEmbeddings: number;
  /** Sliding-window size when sliding-window attention is in effect, else null. */
  slidingWindow: number | null;
  /**
   * Longest sequence (prompt plus generated tokens) the decoder accepts: max_position_embeddings,
   * or the sliding window when it is smaller (within the window, sliding-window attention is
   * exactly full attention, which is what the decoder computes).
   */
  contextLength: number;
  tieWordEmbeddings: boolean;
  /** Biases on the q, k and v projections (Qwen2 always; Llama with attention_bias). */
  qkvBias: boolean;
  /** Bias on the output projection (Llama with attention_bias). */
  outputBias: boolean;
  bosTokenId: number | null;
  eosTokenIds: number[];
  /** The checkpoint's declared dtype (informational: weights are converted to float32). */
  torchDtype: string | null;
  /** Fields present but not known to kvplan (ignored), and other remarks. */
  warnings: string[];
}

/** config.json fields the decoder reads and applies. */
export const HONOURED_CONFIG_FIELDS: readonly string[] = [
  'model_type',
  'architectures',
  'vocab_size',
  'hidden_size',
  'intermediate_size',
  'num_hidden_layers',
  'num_attention_heads',
  'num_key_value_heads',
  'head_dim',
  'hidden_act',
  'rms_norm_eps',
  'rope_theta',
  'rope_scaling',
  'rope_parameters',
  'max_position_embeddings',
  'sliding_window',
  'use_sliding_window',
  'max_window_layers',
  'layer_types',
  'tie_word_embeddings',
  'attention_bias',
  'mlp_bias',
  'bos_token_id',
  'eos_token_id',
  'torch_dtype',
  'dtype',
  'partial_rotary_factor',
  'quantization_config',
];

/** Fields that do not change inference (training or bookkeeping settings): accepted, not used. */
export const IGNORED_CONFIG_FIELDS: readonly string[] = [
  '_name_or_path',
  'transformers_version',
  'initializer_range',
  'use_cache',
  'attention_dropout',
  'pad_token_id',
  'pretraining_tp',
  'output_attentions',
  'output_hidden_states',
  'return_dict',
  'use_return_dict',
  'is_decoder',
  'bad_words_ids',
  'num_beams',
  'temperature',
  'top_p',
  'top_k',
];

/** Rope scaling types the decoder implements (those of libs/fusion's ropeInverseFrequencies). */
export const ROPE_TYPES: readonly string[] = ['default', 'linear', 'llama3'];

/**
 * Checks a parsed config.json and returns the decoder's view of it. Every problem is collected
 * (paths like `config.json:num_key_value_heads`) and thrown together as an InputError;
 * fields that would change the computation in ways the decoder does not implement are refused
 * (non-silu activations, MLP biases, rope scaling other than default/linear/llama3, partial
 * rotary, quantization), unknown fields are listed in `warnings`.
 */
export function parseLlamaConfig(raw: unknown, label = 'config.json'): LlamaConfig {
  const c = new IssueCollector();
  const p = (k: string): string => `${label}:${k}`;
  if (!raw || typeof raw !== 'object' || Array.isArray(raw)) {
    c.add(label, 'expected a JSON object');
    c.throwIfAny();
  }
  const j = raw as Record<string, unknown>;
  const warnings: string[] = [];

  // Architecture.
  let modelType: ModelType | null = null;
  const archs = j.architectures;
  let archType: ModelType | null = null;
  if (archs !== undefined && archs !== null) {
    if (!Array.isArray(archs) || !archs.every((a) => typeof a === 'string'))
      c.add(p('architectures'), `expected an array of strings, got ${show(archs)}`);
    else {
      const known = archs.map((a) => ARCHITECTURES[a]).filter((t): t is ModelType => !!t);
      if (known.length) archType = known[0];
      else if (archs.length)
        c.add(
          p('architectures'),
          `${archs.join(', ')} is not an architecture kvplan runs (${Object.keys(ARCHITECTURES).join(', ')})`,
        );
    }
  }
  if (j.model_type === undefined) {
    if (archType) modelType = archType;
    else c.add(p('model_type'), `missing (one of ${MODEL_TYPES.join(', ')})`);
  } else if (typeof j.model_type !== 'string')
    c.add(p('model_type'), `expected a string, got ${show(j.model_type)}`);
  else if (!(MODEL_TYPES as readonly string[]).includes(j.model_type))
    c.add(
      p('model_type'),
      `"${j.model_type}" is not a Llama-family model kvplan runs (${MODEL_TYPES.join(', ')})`,
    );
  else modelType = j.model_type as ModelType;

  // Sizes.
  const int = (k: string, required: boolean, dflt: number | null = null): number | null => {
    const v = j[k];
    if (v === undefined || v === null) {
      if (required) c.add(p(k), 'missing (a positive integer)');
      return dflt;
    }
    if (typeof v !== 'number' || !Number.isInteger(v) || v <= 0) {
      c.add(p(k), `expected a positive integer, got ${show(v)}`);
      return null;
    }
    return v;
  };
  const num = (k: string, dflt: number): number | null => {
    const v = j[k];
    if (v === undefined || v === null) return dflt;
    if (typeof v !== 'number' || !Number.isFinite(v) || v <= 0) {
      c.add(p(k), `expected a positive number, got ${show(v)}`);
      return null;
    }
    return v;
  };
  const bool = (k: string, dflt: boolean): boolean => {
    const v = j[k];
    if (v === undefined || v === null) return dflt;
    if (typeof v !== 'boolean') {
      c.add(p(k), `expected true or false, got ${show(v)}`);
      return dflt;
    }
    return v;
  };
  const vocabSize = int('vocab_size', true);
  const hiddenSize = int('hidden_size', true);
  const intermediateSize = int('intermediate_size', true);
  const numLayers = int('num_hidden_layers', true);
  const numHeads = int('num_attention_heads', true);
  const numKvHeads = int('num_key_value_heads', false, numHeads);
  const maxPos = int('max_position_embeddings', true);
  let headDim = int('head_dim', false);
  if (headDim === null && j.head_dim == null && hiddenSize && numHeads) {
    if (hiddenSize % numHeads !== 0)
      c.add(
        p('hidden_size'),
        `${hiddenSize} is not divisible by num_attention_heads ${numHeads} (and no head_dim is given)`,
      );
    else headDim = hiddenSize / numHeads;
  }
  if (headDim !== null && headDim % 2 !== 0)
    c.add(p('head_dim'), `${headDim} is odd (rotary embedding pairs dimensions)`);
  if (numHeads && numKvHeads && numHeads % numKvHeads !== 0)
    c.add(
      p('num_key_value_heads'),
      `${numKvHeads} does not divide num_attention_heads ${numHeads} (grouped-query attention)`,
    );
  const rmsNormEps = num('rms_norm_eps', 1e-6);

  // Activation and biases.
  if (j.hidden_act !== undefined && j.hidden_act !== 'silu' && j.hidden_act !== 'swish')
    c.add(p('hidden_act'), `${show(j.hidden_act)} is not supported (the decoder's MLP is SwiGLU: silu)`);
  const attentionBias = bool('attention_bias', false);
  if (bool('mlp_bias', false)) c.add(p('mlp_bias'), 'true is not supported (MLP projections without bias)');
  if (j.quantization_config !== undefined && j.quantization_config !== null)
    c.add(p('quantization_config'), 'quantized checkpoints are not supported (f32, f16 or bf16 weights)');
  if (j.partial_rotary_factor !== undefined && j.partial_rotary_factor !== 1)
    c.add(
      p('partial_rotary_factor'),
      `${show(j.partial_rotary_factor)} is not supported (rotary embedding over the whole head)`,
    );

  // Rotary embedding: rope_theta + rope_scaling, or transformers 5's rope_parameters.
  let ropeTheta = num('rope_theta', 10000);
  let ropeScaling: Record<string, unknown> | null = null;
  const rp = j.rope_parameters;
  let scalingPath = p('rope_scaling');
  let scalingRaw: unknown = j.rope_scaling;
  if (rp !== undefined && rp !== null) {
    if (typeof rp !== 'object' || Array.isArray(rp))
      c.add(p('rope_parameters'), `expected an object, got ${show(rp)}`);
    else {
      const { rope_theta: th, ...rest } = rp as Record<string, unknown>;
      if (th !== undefined) {
        if (typeof th !== 'number' || !(th > 0))
          c.add(p('rope_parameters.rope_theta'), `expected a positive number, got ${show(th)}`);
        else ropeTheta = th;
      }
      scalingRaw = rest;
      scalingPath = p('rope_parameters');
    }
  }
  if (scalingRaw !== undefined && scalingRaw !== null) {
    if (typeof scalingRaw !== 'object' || Array.isArray(scalingRaw))
      c.add(scalingPath, `expected an object or null, got ${show(scalingRaw)}`);
    else {
      const s = scalingRaw as Record<string, unknown>;
      const type = s.rope_type ?? s.type ?? 'default';
      if (typeof type !== 'string' || !ROPE_TYPES.includes(type))
        c.add(
          `${scalingPath}.rope_type`,
          `${show(type)} is not supported (the decoder implements rope types ${ROPE_TYPES.join(', ')})`,
        );
      else if (type !== 'default') {
        ropeScaling = s;
        if (headDim !== null && ropeTheta !== null) {
          try {
            ropeInverseFrequencies(headDim, ropeTheta, s);
          } catch (err) {
            if (!(err instanceof InputError)) throw err;
            for (const i of err.issues) c.add(i.path.replace(/^rope_scaling/, scalingPath), i.message);
          }
        }
      }
    }
  }

  // Sliding window: the decoder computes full attention, equal to sliding-window attention while
  // sequences fit in the window; longer sequences are refused (contextLength).
  let slidingWindow: number | null = null;
  const swRaw = j.sliding_window;
  if (swRaw !== undefined && swRaw !== null) {
    if (typeof swRaw !== 'number' || !Number.isInteger(swRaw) || swRaw <= 0)
      c.add(p('sliding_window'), `expected a positive integer or null, got ${show(swRaw)}`);
    else {
      let inEffect = modelType !== 'qwen2' || bool('use_sliding_window', false);
      if (Array.isArray(j.layer_types)) inEffect = j.layer_types.some((t) => t === 'sliding_attention');
      if (inEffect) slidingWindow = swRaw;
    }
  } else bool('use_sliding_window', false);
  if (j.layer_types !== undefined) {
    const lt = j.layer_types;
    if (
      !Array.isArray(lt) ||
      !lt.every((t) => t === 'full_attention' || t === 'sliding_attention') ||
      (numLayers !== null && lt.length !== numLayers)
    )
      c.add(
        p('layer_types'),
        `expected ${numLayers ?? 'num_hidden_layers'} entries of "full_attention" or "sliding_attention"`,
      );
  }
  if (j.max_window_layers !== undefined && j.max_window_layers !== null) int('max_window_layers', false);

  const tieWordEmbeddings = bool('tie_word_embeddings', false);
  const tokenId = (k: string): number | null => {
    const v = j[k];
    if (v === undefined || v === null) return null;
    if (typeof v !== 'number' || !Number.isInteger(v) || v < 0) {
      c.add(p(k), `expected a token id (integer >= 0) or null, got ${show(v)}`);
      return null;
    }
    return v;
  };
  const bosTokenId = tokenId('bos_token_id');
  let eosTokenIds: number[] = [];
  if (Array.isArray(j.eos_token_id)) {
    if (!j.eos_token_id.every((v) => typeof v === 'number' && Number.isInteger(v) && v >= 0))
      c.add(p('eos_token_id'), 'expected token ids (integers >= 0)');
    else eosTokenIds = j.eos_token_id as number[];
  } else {
    const e = tokenId('eos_token_id');
    if (e !== null) eosTokenIds = [e];
  }
  for (const [k, id] of [
    ['bos_token_id', bosTokenId],
    ...eosTokenIds.map((e) => ['eos_token_id', e] as const),
  ] as Array<[string, number | null]>)
    if (id !== null && vocabSize !== null && id >= vocabSize)
      c.add(p(k), `token id ${id} is outside the vocabulary (vocab_size ${vocabSize})`);
  const dt = j.torch_dtype ?? j.dtype;
  const torchDtype = typeof dt === 'string' ? dt : null;

  for (const k of Object.keys(j))
    if (!HONOURED_CONFIG_FIELDS.includes(k) && !IGNORED_CONFIG_FIELDS.includes(k))
      warnings.push(`${label}:${k} is not a field kvplan knows; ignored`);

  c.throwIfAny();
  const contextLength = slidingWindow !== null ? Math.min(maxPos!, slidingWindow) : maxPos!;
  if (slidingWindow !== null && slidingWindow < maxPos!)
    warnings.push(
      `${label}:sliding_window ${slidingWindow} < max_position_embeddings ${maxPos}: sequences are limited to ${slidingWindow} tokens (within the window, sliding-window attention is full attention)`,
    );
  return {
    modelType: modelType!,
    vocabSize: vocabSize!,
    hiddenSize: hiddenSize!,
    intermediateSize: intermediateSize!,
    numLayers: numLayers!,
    numHeads: numHeads!,
    numKvHeads: numKvHeads!,
    headDim: headDim!,
    rmsNormEps: rmsNormEps!,
    ropeTheta: ropeTheta!,
    ropeScaling,
    maxPositionEmbeddings: maxPos!,
    slidingWindow,
    contextLength,
    tieWordEmbeddings,
    qkvBias: modelType === 'qwen2' || attentionBias,
    outputBias: modelType !== 'qwen2' && attentionBias,
    bosTokenId,
    eosTokenIds,
    torchDtype,
    warnings,
  };
}

function show(v: unknown): string {
  const s = JSON.stringify(v);
  return s === undefined ? String(v) : s.length > 60 ? s.slice(0, 57) + '...' : s;
}
