import { InputError } from '@kvplan/core';
import { writeKvSample, type KvDtype, type KvLayer, type KvSampleInfo, type KvSource } from '@kvplan/fusion';
import type { KvCache } from './kv-cache';
import type { LlamaModel } from './model';
import type { TokenizedPrompt } from './prompts';
import { checkMemory, estimateMemory } from './weights';

/** A KV sample held in memory (one Float32Array per layer and tensor), readable as a KvSource. */
export class MemoryKvSample implements KvSource {
  constructor(
    readonly info: KvSampleInfo,
    private readonly layers: KvLayer[],
  ) {}

  readLayer(layer: number): KvLayer {
    const l = this.layers[layer];
    if (!l) throw new Error(`MemoryKvSample: no layer ${layer}`);
    return l;
  }
}

/** The sample header of a batch of prompts prefilled by `model`. */
export function sampleInfo(
  model: LlamaModel,
  prompts: TokenizedPrompt[],
  blockSize: number,
  numQueries: number,
): KvSampleInfo {
  const c = model.config;
  const seqLens = prompts.map((p) => p.tokens.length);
  const withTenant = prompts.some((p) => p.tenant !== null);
  return {
    file: null,
    numSeqs: prompts.length,
    numLayers: c.numLayers,
    maxBlocks: Math.ceil(Math.max(0, ...seqLens) / blockSize),
    blockSize,
    numKvHeads: c.numKvHeads,
    headDim: c.headDim,
    numQueries,
    numHeads: numQueries > 0 ? c.numHeads : null,
    dtype: 'F32',
    seqLens,
    tenants: withTenant ? prompts.map((p) => p.tenant ?? '') : null,
    model: model.name,
    rope: { state: 'applied', theta: c.ropeTheta, scaling: c.ropeScaling },
    positions: prompts.map(() => 0),
    queryPositions:
      numQueries > 0
        ? seqLens.map((n) => Array.from({ length: numQueries }, (_, k) => n - numQueries + k))
        : null,
    synthetic: false,
  };
}

/** Per layer: a prefilled batch's cache and queries in the kvplan-kv/1 layout. */
export function cacheLayers(cache: KvCache, queries: Float32Array[] | null, info: KvSampleInfo): KvLayer[] {
  const out: KvLayer[] = [];
  for (let l = 0; l < info.numLayers; l++) {
    const { key, value, maxBlocks } = cache.layerBlocks(l, info.blockSize);
    if (maxBlocks !== info.maxBlocks)
      throw new Error(`cacheLayers: ${maxBlocks} blocks, expected ${info.maxBlocks}`);
    out.push({ layer: l, key, value, query: queries ? queries[l] : null });
  }
  return out;
}

export interface CaptureOptions {
  /** Tokens per KV block (default 16, vLLM's). */
  blockSize?: number;
  /** Last-token attention queries stored per prompt as layers.<l>.query (default 4; at most the shortest prompt). */
  numQueries?: number;
  /** Prompts prefilled together (default 8). */
  batchSize?: number;
  /** Backend memory limit checked before each batch (wasm: 4 GiB); null: no check. */
  memoryLimitBytes?: number | null;
  backendName?: string;
  /** Progress: prompts prefilled so far. */
  onProgress?: (done: number, total: number) => void;
}

export function checkPositiveInt(
  v: number,
  path: string,
  issues: Array<{ path: string; message: string }>,
  min = 1,
): void {
  if (!Number.isInteger(v) || v < min)
    issues.push({ path, message: `expected an integer >= ${min}, got ${v}` });
}

/**
 * Prefills the prompts (in batches) and returns their KV cache as a kvplan-kv/1 sample in memory:
 * keys with RoPE applied at their true positions (each prompt from position 0), values, and the
 * attention queries of each prompt's last tokens (`layers.<l>.query`), with the rope parameters
 * and query positions in the header. Yields to the event loop between batches.
 */
export async function captureKv(
  model: LlamaModel,
  prompts: TokenizedPrompt[],
  opts: CaptureOptions = {},
): Promise<MemoryKvSample> {
  const blockSize = opts.blockSize ?? 16;
  const batchSize = opts.batchSize ?? 8;
  const wantQ = opts.numQueries ?? 4;
  const issues: Array<{ path: string; message: string }> = [];
  checkPositiveInt(blockSize, 'options.blockSize', issues);
  checkPositiveInt(batchSize, 'options.batchSize', issues);
  checkPositiveInt(wantQ, 'options.numQueries', issues, 0);
  if (prompts.length === 0) issues.push({ path: 'prompts', message: 'no prompts' });
  if (issues.length) throw new InputError(issues);
  const nq = Math.min(wantQ, ...prompts.map((p) => p.tokens.length));
  const info = sampleInfo(model, prompts, blockSize, nq);
  const c = model.config;
  const stride = info.maxBlocks * blockSize * c.numKvHeads * c.headDim;
  const qStride = nq * c.numHeads * c.headDim;
  const layers: KvLayer[] = Array.from({ length: c.numLayers }, (_, l) => ({
    layer: l,
    key: new Float32Array(prompts.length * stride),
    value: new Float32Array(prompts.length * stride),
    query: nq > 0 ? new Float32Array(prompts.length * qStride) : null,
  }));
  for (let b0 = 0; b0 < prompts.length; b0 += batchSize) {
    const batch = prompts.slice(b0, b0 + batchSize);
    const T = Math.max(...batch.map((p) => p.tokens.length));
    checkMemory(
      estimateMemory(
        c,
        { batch: batch.length, tokens: T, caches: 2, logitRows: batch.length },
        opts.memoryLimitBytes ?? null,
      ),
      `prefilling ${batch.length} prompts of up to ${T} tokens with ${model.name}`,
      opts.backendName ?? 'current',
    );
    const r = model.prefill(
      batch.map((p) => p.tokens),
      { queries: nq },
    );
    try {
      const bInfo = sampleInfo(model, batch, blockSize, nq);
      const bl = cacheLayers(r.cache, r.queries, bInfo);
      const bStride = bInfo.maxBlocks * blockSize * c.numKvHeads * c.headDim;
      for (let l = 0; l < c.numLayers; l++) {
        for (let i = 0; i < batch.length; i++) {
          layers[l].key.set(bl[l].key.subarray(i * bStride, (i + 1) * bStride), (b0 + i) * stride);
          layers[l].value.set(bl[l].value.subarray(i * bStride, (i + 1) * bStride), (b0 + i) * stride);
        }
        if (nq > 0) layers[l].query!.set(bl[l].query!, b0 * qStride);
      }
    } finally {
      r.cache.dispose();
    }
    opts.onProgress?.(Math.min(prompts.length, b0 + batchSize), prompts.length);
    await new Promise<void>((resolve) => setImmediate(resolve));
  }
  return new MemoryKvSample(info, layers);
}

/** Writes a captured sample as a kvplan-kv/1 file (atomically; F32, F16 or BF16). */
export function writeCapturedKv(file: string, sample: KvSource, dtype: KvDtype = 'F32'): void {
  writeKvSample(file, sample, { dtype });
}
