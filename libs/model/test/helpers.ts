/**
 * Test fixtures written independently of the library: a tiny random Llama saved as a real
 * Hugging Face folder (config.json, safetensors from the writer below, a byte-level BPE
 * tokenizer.json), and a plain float64 reference forward pass.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

/** mulberry32 + Box-Muller: the tests' own seeded generator. */
export class TestRng {
  private s: number;
  constructor(seed: number) {
    this.s = seed >>> 0;
  }
  next(): number {
    this.s = (this.s + 0x6d2b79f5) >>> 0;
    let t = this.s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
  normal(): number {
    let u = 0;
    while (u === 0) u = this.next();
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * this.next());
  }
  int(n: number): number {
    return Math.floor(this.next() * n);
  }
}

export type TestDtype = 'F32' | 'BF16';

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);
/** float -> bf16 bits, round to nearest even. */
function bf16Bits(x: number): number {
  f32[0] = x;
  const b = u32[0];
  return ((b + 0x7fff + ((b >>> 16) & 1)) >>> 16) & 0xffff;
}
/** The value a float takes once stored in `dtype`. */
export function roundTo(x: number, dtype: TestDtype): number {
  if (dtype === 'F32') return Math.fround(x);
  u32[0] = bf16Bits(x) << 16;
  return f32[0];
}

export interface RawTensor {
  name: string;
  dtype: TestDtype | 'F16';
  shape: number[];
  /** Values (F32/BF16), or raw 16-bit patterns for F16. */
  values?: ArrayLike<number>;
  bits?: Uint16Array;
}

/** A minimal safetensors writer (the tests' own, not the library's). */
export function writeSafetensorsRaw(file: string, tensors: RawTensor[]): void {
  const parts: Buffer[] = [];
  const header: Record<string, unknown> = { __metadata__: { format: 'pt' } };
  let off = 0;
  for (const t of tensors) {
    const n = t.shape.reduce((a, b) => a * b, 1);
    let buf: Buffer;
    if (t.dtype === 'F32') {
      buf = Buffer.alloc(n * 4);
      for (let i = 0; i < n; i++) buf.writeFloatLE(t.values![i], i * 4);
    } else if (t.dtype === 'BF16') {
      buf = Buffer.alloc(n * 2);
      for (let i = 0; i < n; i++) buf.writeUInt16LE(bf16Bits(t.values![i]), i * 2);
    } else {
      buf = Buffer.alloc(n * 2);
      for (let i = 0; i < n; i++) buf.writeUInt16LE(t.bits![i], i * 2);
    }
    header[t.name] = { dtype: t.dtype, shape: t.shape, data_offsets: [off, off + buf.length] };
    off += buf.length;
    parts.push(buf);
  }
  const json = Buffer.from(JSON.stringify(header), 'utf8');
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(json.length));
  fs.writeFileSync(file, Buffer.concat([len, json, ...parts]));
}

export interface TinyConfig {
  model_type: string;
  vocab_size: number;
  hidden_size: number;
  intermediate_size: number;
  num_hidden_layers: number;
  num_attention_heads: number;
  num_key_value_heads: number;
  max_position_embeddings: number;
  rope_theta: number;
  rope_scaling: Record<string, unknown> | null;
  rms_norm_eps: number;
  tie_word_embeddings: boolean;
  eos_token_id: number;
  bos_token_id: number;
  [k: string]: unknown;
}

export const LLAMA3_TINY: TinyConfig = {
  architectures: ['LlamaForCausalLM'],
  model_type: 'llama',
  vocab_size: 300,
  hidden_size: 64,
  intermediate_size: 96,
  num_hidden_layers: 6,
  num_attention_heads: 4,
  num_key_value_heads: 2,
  max_position_embeddings: 128,
  rope_theta: 10000,
  rope_scaling: {
    rope_type: 'llama3',
    factor: 8,
    low_freq_factor: 1,
    high_freq_factor: 4,
    original_max_position_embeddings: 64,
  },
  rms_norm_eps: 1e-5,
  tie_word_embeddings: false,
  bos_token_id: 0,
  eos_token_id: 1,
  hidden_act: 'silu',
  torch_dtype: 'float32',
};

export const QWEN2_TINY: TinyConfig = {
  architectures: ['Qwen2ForCausalLM'],
  model_type: 'qwen2',
  vocab_size: 300,
  hidden_size: 48,
  intermediate_size: 80,
  num_hidden_layers: 5,
  num_attention_heads: 6,
  num_key_value_heads: 2,
  max_position_embeddings: 96,
  rope_theta: 1000000,
  rope_scaling: null,
  rms_norm_eps: 1e-6,
  tie_word_embeddings: true,
  bos_token_id: 0,
  eos_token_id: 1,
  use_sliding_window: false,
  sliding_window: 32,
  max_window_layers: 5,
  torch_dtype: 'bfloat16',
};

/** Weights as float64 arrays (already rounded to their stored dtype), by Hugging Face name. */
export type Weights = Map<string, { shape: number[]; data: Float64Array }>;

export function randomWeights(cfg: TinyConfig, seed: number, dtype: TestDtype): Weights {
  const rng = new TestRng(seed);
  const D = cfg.hidden_size;
  const H = cfg.num_attention_heads;
  const Hkv = cfg.num_key_value_heads;
  const hd = (cfg.head_dim as number | undefined) ?? D / H;
  const I = cfg.intermediate_size;
  const qwen = cfg.model_type === 'qwen2';
  const w: Weights = new Map();
  const put = (name: string, shape: number[], std: number, mean = 0): void => {
    const n = shape.reduce((a, b) => a * b, 1);
    const data = new Float64Array(n);
    for (let i = 0; i < n; i++) data[i] = roundTo(mean + std * rng.normal(), dtype);
    w.set(name, { shape, data });
  };
  put('model.embed_tokens.weight', [cfg.vocab_size, D], 1);
  for (let l = 0; l < cfg.num_hidden_layers; l++) {
    const p = `model.layers.${l}`;
    put(`${p}.input_layernorm.weight`, [D], 0.1, 1);
    put(`${p}.self_attn.q_proj.weight`, [H * hd, D], 0.25);
    put(`${p}.self_attn.k_proj.weight`, [Hkv * hd, D], 0.25);
    put(`${p}.self_attn.v_proj.weight`, [Hkv * hd, D], 0.3);
    if (qwen) {
      put(`${p}.self_attn.q_proj.bias`, [H * hd], 0.2);
      put(`${p}.self_attn.k_proj.bias`, [Hkv * hd], 0.2);
      put(`${p}.self_attn.v_proj.bias`, [Hkv * hd], 0.2);
    }
    put(`${p}.self_attn.o_proj.weight`, [D, H * hd], 0.2);
    put(`${p}.post_attention_layernorm.weight`, [D], 0.1, 1);
    put(`${p}.mlp.gate_proj.weight`, [I, D], 0.15);
    put(`${p}.mlp.up_proj.weight`, [I, D], 0.15);
    put(`${p}.mlp.down_proj.weight`, [D, I], 0.15);
  }
  put('model.norm.weight', [D], 0.1, 1);
  if (!cfg.tie_word_embeddings) put('lm_head.weight', [cfg.vocab_size, D], 0.2);
  return w;
}

/** GPT-2's byte -> printable character table, written out here. */
function byteChars(): string[] {
  const keep = (b: number): boolean =>
    (b >= 33 && b <= 126) || (b >= 161 && b <= 172) || (b >= 174 && b <= 255);
  const out: string[] = [];
  let extra = 0;
  for (let b = 0; b < 256; b++)
    out.push(keep(b) ? String.fromCharCode(b) : String.fromCharCode(256 + extra++));
  return out;
}

/**
 * A byte-level BPE tokenizer.json: <s>=0, </s>=1, the 256 bytes at 2..257, then a few merges
 * (ids 258..). Adds <s> in front of every prompt, like Llama's.
 */
export function tinyTokenizerJson(): Record<string, unknown> {
  const chars = byteChars();
  const vocab: Record<string, number> = { '<s>': 0, '</s>': 1 };
  chars.forEach((ch, b) => (vocab[ch] = 2 + b));
  const merges: Array<[string, string]> = [
    ['t', 'h'],
    ['th', 'e'],
    ['Ġ', 't'],
    ['Ġ', 'the'],
    ['i', 'n'],
    ['Ġ', 'a'],
    ['e', 'r'],
    ['o', 'n'],
  ];
  let id = 258;
  for (const [a, b] of merges) vocab[a + b] = id++;
  const special = (content: string, i: number) => ({
    id: i,
    content,
    single_word: false,
    lstrip: false,
    rstrip: false,
    normalized: false,
    special: true,
  });
  return {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: [special('<s>', 0), special('</s>', 1)],
    normalizer: null,
    pre_tokenizer: { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: true },
    post_processor: {
      type: 'TemplateProcessing',
      single: [{ SpecialToken: { id: '<s>', type_id: 0 } }, { Sequence: { id: 'A', type_id: 0 } }],
      pair: [],
      special_tokens: { '<s>': { id: '<s>', ids: [0], tokens: ['<s>'] } },
    },
    decoder: { type: 'ByteLevel', add_prefix_space: true, trim_offsets: true, use_regex: true },
    model: {
      type: 'BPE',
      dropout: null,
      unk_token: null,
      continuing_subword_prefix: null,
      end_of_word_suffix: null,
      fuse_unk: false,
      byte_fallback: false,
      vocab,
      merges: merges.map((m) => m.join(' ')),
    },
  };
}

export interface TinyFolder {
  dir: string;
  cfg: TinyConfig;
  weights: Weights;
}

/** Writes a tiny model folder; `shards` > 1 splits the tensors with an index file. */
export function writeTinyModel(
  dir: string,
  cfg: TinyConfig,
  opts: { seed?: number; dtype?: TestDtype; shards?: number; tokenizer?: boolean } = {},
): TinyFolder {
  const dtype = opts.dtype ?? 'F32';
  const weights = randomWeights(cfg, opts.seed ?? 7, dtype);
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, 'config.json'), JSON.stringify(cfg, null, 2));
  if (opts.tokenizer !== false)
    fs.writeFileSync(path.join(dir, 'tokenizer.json'), JSON.stringify(tinyTokenizerJson()));
  const all: RawTensor[] = [...weights].map(([name, t]) => ({ name, dtype, shape: t.shape, values: t.data }));
  const shards = opts.shards ?? 1;
  if (shards === 1) writeSafetensorsRaw(path.join(dir, 'model.safetensors'), all);
  else {
    const map: Record<string, string> = {};
    const per = Math.ceil(all.length / shards);
    for (let s = 0; s < shards; s++) {
      const name = `model-0000${s + 1}-of-0000${shards}.safetensors`;
      const part = all.slice(s * per, (s + 1) * per);
      writeSafetensorsRaw(path.join(dir, name), part);
      for (const t of part) map[t.name] = name;
    }
    fs.writeFileSync(
      path.join(dir, 'model.safetensors.index.json'),
      JSON.stringify({ metadata: {}, weight_map: map }),
    );
  }
  return { dir, cfg, weights };
}

export function tmpDir(prefix: string): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}

/** Inverse rotary frequencies with Hugging Face's default, linear and llama3 rules (float64). */
export function refInvFreq(cfg: TinyConfig): number[] {
  const hd = (cfg.head_dim as number | undefined) ?? cfg.hidden_size / cfg.num_attention_heads;
  const inv: number[] = [];
  for (let i = 0; i < hd; i += 2) inv.push(1 / cfg.rope_theta ** (i / hd));
  const s = cfg.rope_scaling;
  if (!s) return inv;
  const type = (s.rope_type ?? s.type) as string;
  if (type === 'linear') return inv.map((f) => f / (s.factor as number));
  if (type !== 'llama3') throw new Error(`reference: rope type ${type}`);
  const factor = s.factor as number;
  const lowF = s.low_freq_factor as number;
  const highF = s.high_freq_factor as number;
  const old = s.original_max_position_embeddings as number;
  return inv.map((f) => {
    const wl = (2 * Math.PI) / f;
    if (wl < old / highF) return f;
    if (wl > old / lowF) return f / factor;
    const smooth = (old / wl - lowF) / (highF - lowF);
    return (1 - smooth) * (f / factor) + smooth * f;
  });
}

export interface RefOutput {
  /** [t][vocab] */
  logits: number[][];
  /** [layer][t][kvHead][d], keys after RoPE */
  keys: number[][][][];
  values: number[][][][];
  /** [layer][t][head][d], queries after RoPE */
  queries: number[][][][];
}

/** The plain float64 forward pass of one sequence (positions 0..n-1). */
export function refForward(cfg: TinyConfig, w: Weights, tokens: number[]): RefOutput {
  const D = cfg.hidden_size;
  const H = cfg.num_attention_heads;
  const Hkv = cfg.num_key_value_heads;
  const hd = (cfg.head_dim as number | undefined) ?? D / H;
  const I = cfg.intermediate_size;
  const eps = cfg.rms_norm_eps;
  const inv = refInvFreq(cfg);
  const get = (n: string): Float64Array => w.get(n)!.data;
  const has = (n: string): boolean => w.has(n);
  // y = W x (+ b) with W stored [out, in].
  const lin = (W: Float64Array, x: number[], out: number, b?: Float64Array): number[] => {
    const y = new Array<number>(out).fill(0);
    for (let o = 0; o < out; o++) {
      let s = b ? b[o] : 0;
      for (let i = 0; i < x.length; i++) s += W[o * x.length + i] * x[i];
      y[o] = s;
    }
    return y;
  };
  const norm = (x: number[], g: Float64Array): number[] => {
    const ms = x.reduce((a, v) => a + v * v, 0) / x.length;
    const r = 1 / Math.sqrt(ms + eps);
    return x.map((v, i) => v * r * g[i]);
  };
  const rope = (v: number[], pos: number): number[] => {
    const half = hd / 2;
    const out = v.slice();
    for (let k = 0; k < half; k++) {
      const a = pos * inv[k];
      out[k] = v[k] * Math.cos(a) - v[k + half] * Math.sin(a);
      out[k + half] = v[k + half] * Math.cos(a) + v[k] * Math.sin(a);
    }
    return out;
  };
  const n = tokens.length;
  const emb = get('model.embed_tokens.weight');
  let x: number[][] = tokens.map((t) => Array.from(emb.subarray(t * D, (t + 1) * D)));
  const out: RefOutput = { logits: [], keys: [], values: [], queries: [] };
  for (let l = 0; l < cfg.num_hidden_layers; l++) {
    const p = `model.layers.${l}.`;
    const bias = (k: string): Float64Array | undefined => (has(p + k) ? get(p + k) : undefined);
    const Q: number[][][] = [];
    const K: number[][][] = [];
    const Vv: number[][][] = [];
    for (let t = 0; t < n; t++) {
      const h = norm(x[t], get(p + 'input_layernorm.weight'));
      const q = lin(get(p + 'self_attn.q_proj.weight'), h, H * hd, bias('self_attn.q_proj.bias'));
      const k = lin(get(p + 'self_attn.k_proj.weight'), h, Hkv * hd, bias('self_attn.k_proj.bias'));
      const v = lin(get(p + 'self_attn.v_proj.weight'), h, Hkv * hd, bias('self_attn.v_proj.bias'));
      Q.push(Array.from({ length: H }, (_, j) => rope(q.slice(j * hd, (j + 1) * hd), t)));
      K.push(Array.from({ length: Hkv }, (_, j) => rope(k.slice(j * hd, (j + 1) * hd), t)));
      Vv.push(Array.from({ length: Hkv }, (_, j) => v.slice(j * hd, (j + 1) * hd)));
    }
    out.queries.push(Q);
    out.keys.push(K);
    out.values.push(Vv);
    const next: number[][] = [];
    for (let t = 0; t < n; t++) {
      const att: number[] = [];
      for (let j = 0; j < H; j++) {
        const kv = Math.floor(j / (H / Hkv));
        const sc: number[] = [];
        for (let s = 0; s <= t; s++) {
          let d = 0;
          for (let e = 0; e < hd; e++) d += Q[t][j][e] * K[s][kv][e];
          sc.push(d / Math.sqrt(hd));
        }
        const m = Math.max(...sc);
        const ex = sc.map((v) => Math.exp(v - m));
        const z = ex.reduce((a, b) => a + b, 0);
        for (let e = 0; e < hd; e++) {
          let acc = 0;
          for (let s = 0; s <= t; s++) acc += (ex[s] / z) * Vv[s][kv][e];
          att.push(acc);
        }
      }
      const o = lin(get(p + 'self_attn.o_proj.weight'), att, D, bias('self_attn.o_proj.bias'));
      const x1 = x[t].map((v, i) => v + o[i]);
      const h2 = norm(x1, get(p + 'post_attention_layernorm.weight'));
      const g = lin(get(p + 'mlp.gate_proj.weight'), h2, I);
      const u = lin(get(p + 'mlp.up_proj.weight'), h2, I);
      const a = g.map((v, i) => (v / (1 + Math.exp(-v))) * u[i]);
      const m = lin(get(p + 'mlp.down_proj.weight'), a, D);
      next.push(x1.map((v, i) => v + m[i]));
    }
    x = next;
  }
  const head = cfg.tie_word_embeddings ? emb : get('lm_head.weight');
  for (let t = 0; t < n; t++)
    out.logits.push(lin(head, norm(x[t], get('model.norm.weight')), cfg.vocab_size));
  return out;
}

/** max |a - b| / max |b|. */
export function relErr(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let num = 0;
  let den = 0;
  for (let i = 0; i < b.length; i++) {
    num = Math.max(num, Math.abs(a[i] - b[i]));
    den = Math.max(den, Math.abs(b[i]));
  }
  return num / den;
}

export function randomTokens(rng: TestRng, n: number, vocab: number): number[] {
  return Array.from({ length: n }, () => 2 + rng.int(vocab - 2));
}
