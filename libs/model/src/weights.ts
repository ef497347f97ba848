import * as fs from 'node:fs';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { InputError, IssueCollector } from '@kvplan/core';
import { transposeRows } from '@kvplan/fusion';
import { parseLlamaConfig, type LlamaConfig } from './config';
import { LlamaModel, type LayerWeights, type ModelWeights } from './model';
import { SafetensorsFile, type TensorInfo, type WeightDtype } from './safetensors';

export const GIB = 1024 ** 3;
/** The wasm backend's heap: every tensor lives in its 4 GiB linear memory. */
export const WASM_HEAP_BYTES = 4 * GIB;

/** A tensor the decoder needs, with the shape the config implies. */
export interface ExpectedTensor {
  name: string;
  shape: number[];
  /** Why this shape, for messages. */
  why: string;
}

/** The checkpoint tensors a decoder of this config needs (Hugging Face names and [out, in] shapes). */
export function expectedTensors(c: LlamaConfig): ExpectedTensor[] {
  const D = c.hiddenSize;
  const q = c.numHeads * c.headDim;
  const kv = c.numKvHeads * c.headDim;
  const I = c.intermediateSize;
  const qWhy = `num_attention_heads ${c.numHeads} x head_dim ${c.headDim}`;
  const kvWhy = `num_key_value_heads ${c.numKvHeads} x head_dim ${c.headDim}`;
  const out: ExpectedTensor[] = [
    { name: 'model.embed_tokens.weight', shape: [c.vocabSize, D], why: 'vocab_size x hidden_size' },
  ];
  for (let l = 0; l < c.numLayers; l++) {
    const p = `model.layers.${l}`;
    out.push(
      { name: `${p}.input_layernorm.weight`, shape: [D], why: 'hidden_size' },
      { name: `${p}.self_attn.q_proj.weight`, shape: [q, D], why: `${qWhy}, hidden_size` },
      { name: `${p}.self_attn.k_proj.weight`, shape: [kv, D], why: `${kvWhy}, hidden_size` },
      { name: `${p}.self_attn.v_proj.weight`, shape: [kv, D], why: `${kvWhy}, hidden_size` },
    );
    if (c.qkvBias)
      out.push(
        { name: `${p}.self_attn.q_proj.bias`, shape: [q], why: qWhy },
        { name: `${p}.self_attn.k_proj.bias`, shape: [kv], why: kvWhy },
        { name: `${p}.self_attn.v_proj.bias`, shape: [kv], why: kvWhy },
      );
    out.push({ name: `${p}.self_attn.o_proj.weight`, shape: [D, q], why: `hidden_size, ${qWhy}` });
    if (c.outputBias) out.push({ name: `${p}.self_attn.o_proj.bias`, shape: [D], why: 'hidden_size' });
    out.push(
      { name: `${p}.post_attention_layernorm.weight`, shape: [D], why: 'hidden_size' },
      { name: `${p}.mlp.gate_proj.weight`, shape: [I, D], why: 'intermediate_size x hidden_size' },
      { name: `${p}.mlp.up_proj.weight`, shape: [I, D], why: 'intermediate_size x hidden_size' },
      { name: `${p}.mlp.down_proj.weight`, shape: [D, I], why: 'hidden_size x intermediate_size' },
    );
  }
  out.push({ name: 'model.norm.weight', shape: [D], why: 'hidden_size' });
  if (!c.tieWordEmbeddings)
    out.push({ name: 'lm_head.weight', shape: [c.vocabSize, D], why: 'vocab_size x hidden_size' });
  return out;
}

/** A model folder whose config and checkpoint headers were read and checked (no weights yet). */
export interface ModelFolder {
  dir: string;
  /** The model's name: config `_name_or_path` when it names a hub id, else the folder's name. */
  name: string;
  config: LlamaConfig;
  /** Weight files, relative to dir. */
  files: string[];
  /** Where each needed tensor is: file index and header entry. */
  tensors: Map<string, { file: number; info: TensorInfo }>;
  numParameters: number;
  /** Element types stored in the checkpoint. */
  storedDtypes: WeightDtype[];
  bytesOnDisk: number;
  /** Path of tokenizer.json when the folder has one. */
  tokenizerFile: string | null;
}

/**
 * Reads `config.json` and the safetensors headers of a Hugging Face folder (one
 * `model.safetensors`, or shards listed by `model.safetensors.index.json`) and checks every
 * tensor the config implies: present, in a file that exists, with the shape the config says.
 * Every problem is reported at once (InputError), its path prefixed with `label` (e.g. the
 * folder as the user typed it, plus '/'). No weight data is read.
 */
export function openModelFolder(dir: string, label = ''): ModelFolder {
  const c = new IssueCollector();
  const folderPath = label.replace(/[\\/]$/, '') || dir;
  let st: fs.Stats;
  try {
    st = fs.statSync(dir);
  } catch {
    throw new InputError([{ path: folderPath, message: 'model folder does not exist' }]);
  }
  if (!st.isDirectory())
    throw new InputError([
      { path: folderPath, message: 'not a folder (expected a Hugging Face model folder)' },
    ]);
  const cfgFile = path.join(dir, 'config.json');
  let rawCfg: unknown;
  try {
    rawCfg = JSON.parse(fs.readFileSync(cfgFile, 'utf8'));
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    throw new InputError([
      {
        path: `${label}config.json`,
        message: e.code === 'ENOENT' ? 'missing from the model folder' : `not valid JSON (${e.message})`,
      },
    ]);
  }
  const config = parseLlamaConfig(rawCfg, `${label}config.json`);

  // Weight files.
  const indexFile = path.join(dir, 'model.safetensors.index.json');
  const single = path.join(dir, 'model.safetensors');
  let files: string[] = [];
  let weightMap: Record<string, string> | null = null;
  if (fs.existsSync(indexFile)) {
    let idx: unknown;
    try {
      idx = JSON.parse(fs.readFileSync(indexFile, 'utf8'));
    } catch (err) {
      throw new InputError([
        {
          path: `${label}model.safetensors.index.json`,
          message: `not valid JSON (${(err as Error).message})`,
        },
      ]);
    }
    const wm = (idx as { weight_map?: unknown } | null)?.weight_map;
    if (
      !wm ||
      typeof wm !== 'object' ||
      Array.isArray(wm) ||
      !Object.values(wm).every((v) => typeof v === 'string')
    )
      throw new InputError([
        {
          path: `${label}model.safetensors.index.json:weight_map`,
          message: 'expected an object of tensor name -> file name',
        },
      ]);
    weightMap = wm as Record<string, string>;
    files = [...new Set(Object.values(weightMap))].sort();
    for (const f of files)
      if (f.includes('/') || f.includes('\\') || f.startsWith('.'))
        c.add(
          `${label}model.safetensors.index.json:weight_map`,
          `shard name ${JSON.stringify(f)} must be a plain file name`,
        );
  } else if (fs.existsSync(single)) files = ['model.safetensors'];
  else {
    const found = fs.readdirSync(dir).filter((f) => f.endsWith('.safetensors'));
    throw new InputError([
      {
        path: folderPath,
        message: `no model.safetensors or model.safetensors.index.json${found.length ? ` (found ${found.slice(0, 4).join(', ')} without an index)` : ''}`,
      },
    ]);
  }
  c.throwIfAny();

  const opened: Array<SafetensorsFile | null> = [];
  let bytesOnDisk = 0;
  try {
    for (const f of files) {
      const full = path.join(dir, f);
      if (!fs.existsSync(full)) {
        const mapped = weightMap
          ? Object.entries(weightMap)
              .filter(([, v]) => v === f)
              .map(([k]) => k)
          : [];
        c.add(
          `${label}${f}`,
          `shard is missing from the model folder (model.safetensors.index.json maps ${mapped.length} tensors to it${mapped.length ? `, e.g. ${mapped[0]}` : ''})`,
        );
        opened.push(null);
        continue;
      }
      bytesOnDisk += fs.statSync(full).size;
      try {
        opened.push(SafetensorsFile.open(full, `${label}${f}`));
      } catch (err) {
        if (!(err instanceof InputError)) throw err;
        for (const i of err.issues) c.add(i.path, i.message);
        opened.push(null);
      }
    }
    c.throwIfAny();

    // Every tensor in the files (by name), then the check against the config.
    const where = new Map<string, { file: number; info: TensorInfo }>();
    opened.forEach((sf, i) => {
      for (const info of sf!.tensors.values()) {
        if (weightMap && weightMap[info.name] !== undefined && weightMap[info.name] !== files[i]) continue;
        if (where.has(info.name))
          c.add(`${label}${files[i]}:${info.name}`, `also stored in ${files[where.get(info.name)!.file]}`);
        else where.set(info.name, { file: i, info });
      }
    });
    if (weightMap)
      for (const [name, f] of Object.entries(weightMap)) {
        const i = files.indexOf(f);
        if (!opened[i]!.tensors.has(name))
          c.add(`${label}${f}:${name}`, 'listed in model.safetensors.index.json but not stored in the shard');
      }
    const expected = expectedTensors(config);
    const needed = new Map<string, { file: number; info: TensorInfo }>();
    const missing: string[] = [];
    let numParameters = 0;
    for (const e of expected) {
      numParameters += e.shape.reduce((a, b) => a * b, 1);
      const got = where.get(e.name);
      if (!got) {
        missing.push(e.name);
        continue;
      }
      if (got.info.shape.join() !== e.shape.join())
        c.add(
          `${label}${files[got.file]}:${e.name}`,
          `shape [${got.info.shape.join(', ')}] disagrees with config.json: expected [${e.shape.join(', ')}] (${e.why})`,
        );
      needed.set(e.name, got);
    }
    if (missing.length)
      c.add(
        `${label}${files.length === 1 ? files[0] : 'weights'}`,
        `missing ${missing.length} tensor${missing.length > 1 ? 's' : ''} the config needs: ${listSome(missing)}`,
      );
    const expectedNames = new Set(expected.map((e) => e.name));
    const unexpected = [...where.keys()].filter(
      (n) =>
        !expectedNames.has(n) &&
        !/\.rotary_emb\.inv_freq$/.test(n) &&
        !(n === 'lm_head.weight' && config.tieWordEmbeddings),
    );
    if (unexpected.length)
      c.add(
        `${label}${files.length === 1 ? files[0] : 'weights'}`,
        `${unexpected.length} tensor${unexpected.length > 1 ? 's' : ''} that a ${config.modelType} decoder of this config does not have (num_hidden_layers ${config.numLayers}, ${config.qkvBias ? 'with' : 'no'} attention biases): ${listSome(unexpected)}`,
      );
    c.throwIfAny();
    const storedDtypes = [...new Set([...needed.values()].map((t) => t.info.dtype))].sort();
    const nameOrPath = (rawCfg as Record<string, unknown>)._name_or_path;
    const name =
      typeof nameOrPath === 'string' && /^[\w.-]+\/[\w.-]+$/.test(nameOrPath)
        ? nameOrPath
        : path.basename(path.resolve(dir));
    return {
      dir,
      name,
      config,
      files,
      tensors: needed,
      numParameters,
      storedDtypes,
      bytesOnDisk,
      tokenizerFile: fs.existsSync(path.join(dir, 'tokenizer.json'))
        ? path.join(dir, 'tokenizer.json')
        : null,
    };
  } finally {
    for (const sf of opened) sf?.close();
  }
}

function listSome(names: string[]): string {
  return names.length > 5 ? `${names.slice(0, 5).join(', ')} and ${names.length - 5} more` : names.join(', ');
}

/** What a batch of work adds on the backend, beside the weights. */
export interface Workload {
  /** Rows processed together. */
  batch: number;
  /** Longest row, in tokens (prompt plus continuation plus generated). */
  tokens: number;
  /** Tokens of one forward pass (the prefill: the longest prompt). */
  chunkTokens?: number;
  /** KV caches held at once (original, fused, one being extended). Default 3. */
  caches?: number;
  /** Rows of logits at once. Default batch x 32. */
  logitRows?: number;
}

export interface MemoryEstimate {
  /** float32 weights on the backend (the embedding lives in host memory, lm_head on the backend). */
  weightBytes: number;
  /** The embedding table in host memory. */
  hostBytes: number;
  /** KV caches and the largest layer's activations for the workload. */
  workloadBytes: number;
  /** weightBytes + workloadBytes. */
  backendBytes: number;
  limitBytes: number | null;
  fits: boolean;
}

/** Memory a model and a workload need, in float32 (checkpoints in f16/bf16 double at load). */
export function estimateMemory(
  c: LlamaConfig,
  workload: Workload | null,
  limitBytes: number | null,
): MemoryEstimate {
  const D = c.hiddenSize;
  const q = c.numHeads * c.headDim;
  const kv = c.numKvHeads * c.headDim;
  const I = c.intermediateSize;
  const perLayer =
    D * (q + 2 * kv) + (c.qkvBias ? q + 2 * kv : 0) + q * D + (c.outputBias ? D : 0) + 2 * D + 3 * D * I;
  const weightBytes = 4 * (c.numLayers * perLayer + D + D * c.vocabSize);
  const hostBytes = 4 * c.vocabSize * D;
  let workloadBytes = 0;
  if (workload) {
    const B = workload.batch;
    const S = workload.tokens;
    const T = workload.chunkTokens ?? S;
    const kvBytes = 4 * 2 * c.numLayers * B * S * kv;
    const scores = 4 * B * c.numHeads * T * S * 3;
    const acts = 4 * B * T * (4 * D + 2 * (q + 2 * kv) + 3 * I);
    const logits = 4 * (workload.logitRows ?? B * 32) * c.vocabSize * 2;
    workloadBytes = kvBytes * (workload.caches ?? 3) + scores + acts + logits + 4 * B * T * S;
  }
  const backendBytes = weightBytes + workloadBytes;
  return {
    weightBytes,
    hostBytes,
    workloadBytes,
    backendBytes,
    limitBytes,
    fits: limitBytes === null || backendBytes <= limitBytes,
  };
}

/** Bytes as GiB (MiB below 1 GiB). */
export function formatBytes(bytes: number): string {
  return bytes < GIB ? `${(bytes / 2 ** 20).toFixed(1)} MiB` : `${(bytes / GIB).toFixed(2)} GiB`;
}

/** Throws an InputError when the estimate does not fit its limit. */
export function checkMemory(est: MemoryEstimate, what: string, backend: string): void {
  if (est.fits) return;
  throw new InputError([
    {
      path: 'memory',
      message: `${what} needs about ${formatBytes(est.backendBytes)} on the ${backend} backend (${formatBytes(est.weightBytes)} of float32 weights${est.workloadBytes ? ` + ${formatBytes(est.workloadBytes)} of KV cache and activations` : ''}), more than its ${formatBytes(est.limitBytes!)}; the wasm backend holds models up to about 0.8B parameters: use a smaller model or batch, or run where tfjs-node or tfjs-node-gpu loads`,
    },
  ]);
}

export interface LoadOptions {
  /** Backend memory the weights may take (wasm: WASM_HEAP_BYTES); null: no check. */
  memoryLimitBytes?: number | null;
  /** Backend name for messages (default: tf.getBackend()). */
  backendName?: string;
  /** Called after each decoder layer is on the backend. */
  onLayer?: (layer: number, total: number) => void;
}

/**
 * Loads a checked folder's weights onto the current tfjs backend, one tensor at a time
 * (converted to float32, linear weights transposed to [in, out]), after checking that they fit.
 * A failure part-way disposes everything loaded so far.
 */
export function loadModel(folder: ModelFolder, opts: LoadOptions = {}): LlamaModel {
  const c = folder.config;
  const backend = opts.backendName ?? tf.getBackend();
  checkMemory(
    estimateMemory(c, null, opts.memoryLimitBytes ?? null),
    `${folder.name} (${(folder.numParameters / 1e6).toFixed(folder.numParameters < 1e7 ? 2 : 0)}M parameters)`,
    backend,
  );
  const files: Array<SafetensorsFile | null> = folder.files.map(() => null);
  const read = (name: string): Float32Array => {
    const t = folder.tensors.get(name);
    if (!t) throw new Error(`loadModel: ${name} was not checked`);
    files[t.file] ??= SafetensorsFile.open(path.join(folder.dir, folder.files[t.file]), folder.files[t.file]);
    return files[t.file]!.read(name);
  };
  const made: tf.Tensor[] = [];
  const track = <T extends tf.Tensor>(t: T): T => {
    made.push(t);
    return t;
  };
  const D = c.hiddenSize;
  const q = c.numHeads * c.headDim;
  const kv = c.numKvHeads * c.headDim;
  const I = c.intermediateSize;
  try {
    const embed = read('model.embed_tokens.weight');
    const layers: LayerWeights[] = [];
    for (let l = 0; l < c.numLayers; l++) {
      const p = `model.layers.${l}`;
      // [out, in] -> [in, out].
      const lin = (name: string, rows: number, cols: number): tf.Tensor2D =>
        track(tf.tensor2d(transposeRows(read(name), rows, cols), [cols, rows]));
      const bias = (name: string): tf.Tensor1D | null => (c.qkvBias ? track(tf.tensor1d(read(name))) : null);
      layers.push({
        inputNorm: track(tf.tensor1d(read(`${p}.input_layernorm.weight`))),
        q: lin(`${p}.self_attn.q_proj.weight`, q, D),
        k: lin(`${p}.self_attn.k_proj.weight`, kv, D),
        v: lin(`${p}.self_attn.v_proj.weight`, kv, D),
        qBias: bias(`${p}.self_attn.q_proj.bias`),
        kBias: bias(`${p}.self_attn.k_proj.bias`),
        vBias: bias(`${p}.self_attn.v_proj.bias`),
        out: lin(`${p}.self_attn.o_proj.weight`, D, q),
        outBias: c.outputBias ? track(tf.tensor1d(read(`${p}.self_attn.o_proj.bias`))) : null,
        postNorm: track(tf.tensor1d(read(`${p}.post_attention_layernorm.weight`))),
        gate: lin(`${p}.mlp.gate_proj.weight`, I, D),
        up: lin(`${p}.mlp.up_proj.weight`, I, D),
        down: lin(`${p}.mlp.down_proj.weight`, D, I),
      });
      opts.onLayer?.(l, c.numLayers);
    }
    const head = c.tieWordEmbeddings ? embed : read('lm_head.weight');
    const weights: ModelWeights = {
      embed,
      layers,
      finalNorm: track(tf.tensor1d(read('model.norm.weight'))),
      lmHead: track(tf.tensor2d(transposeRows(head, c.vocabSize, D), [D, c.vocabSize])),
    };
    return new LlamaModel(c, weights, folder.name);
  } catch (err) {
    for (const t of made) t.dispose();
    throw err;
  } finally {
    for (const f of files) f?.close();
  }
}
