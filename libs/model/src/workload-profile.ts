import * as os from 'node:os';
import * as path from 'node:path';
import { InputError, type FusionProfile } from '@kvplan/core';
import {
  cffChunkTokens,
  blockDim,
  measureFusion,
  openKvSample,
  resolveFusionOptions,
  stratifiedSample,
  SubsetKvSource,
  synthesizeKvSample,
  type KvSource,
  type LayerThreads,
  type MeasuredFusion,
  type SelectedKernel,
  type SelectedTfBackend,
} from '@kvplan/fusion';
import { evaluateFusion } from './eval-fusion';
import type { TokenizedPrompt } from './prompts';
import { loadTokenizer } from './tokenizer';
import { readTracePrompts, traceCarriesPrompts, type PromptTraceFormat } from './trace-prompts';
import { loadModel, openModelFolder, WASM_HEAP_BYTES } from './weights';

/** The fusion settings of a workload's fusion profile (a fusion config). */
export interface FusionJobSettings {
  mode: 'bff' | 'cff';
  thresholds: number[];
  /** BFF: batch sizes to measure at (default: one batch of the whole sample). */
  batchSizes?: number[];
  /** CFF window, in chunks (default 4). */
  window?: number;
  /** Absent: `tenant` when the workload names tenants, else `global`. */
  scope?: 'global' | 'tenant';
}

/**
 * A workload's fusion-profile job as plain data: the requests of the resolved workload, the
 * deployment's model shape and block size, the stored trace (its text and format) and KV samples,
 * and the model folder to capture real KV with, when there is one.
 */
export interface WorkloadFusionJob {
  requests: {
    n: number;
    inputTokens: ArrayLike<number>;
    /** Tenant of each request, or null. */
    tenants: Array<string | null>;
    requestIds: string[] | null;
  };
  blockSize: number;
  model: { id: string; numLayers: number; numKvHeads: number; headDim: number };
  fusion: FusionJobSettings;
  options: { sampleSize: number; seed: number; maxPromptTokens: number };
  /** The stored trace the workload replays (path for messages), or null for a generator workload. */
  trace: { path: string; text: string; format: PromptTraceFormat } | null;
  /** KV samples tied to the workload, newest first, with absolute file paths. */
  kvSamples: Array<{ id: string; name: string; file: string }>;
  /** A local Hugging Face model folder, or null. */
  modelDir: string | null;
}

export type FusionSource = 'synthetic' | 'kv-sample' | 'model';

/** What the job did and why (stored beside the profile). */
export interface FusionJobDetails {
  source: FusionSource;
  reasons: string[];
  sample: {
    from: string;
    stratifiedBy: 'prompt length';
    seed: number;
    available: number;
    size: number;
    maxPromptTokens: number;
    requests: SampledRequest[];
  };
  kv: Record<string, unknown>;
  fusion: {
    mode: 'bff' | 'cff';
    thresholds: number[];
    scope: 'global' | 'tenant';
    notes: string[];
    batchSizes?: number[];
    window?: number;
    chunkTokens?: number | null;
    runs: MeasuredFusion['runs'];
  };
  accuracy: Record<string, unknown>;
  tfBackend: string | null;
  /** The similarity kernel that ran the fusion products. */
  similarityKernel: string;
  /** Threads that fused layers side by side (1: the job's own thread). */
  layerThreads: number;
  seconds: number;
}

export interface FusionJobResult {
  source: FusionSource;
  profile: FusionProfile;
  details: FusionJobDetails;
}

/** Teacher-forced continuation and greedy tokens of the accuracy measurement (libs/model's defaults). */
const CONTINUATION_TOKENS = 16;
const GENERATE_TOKENS = 16;
/** Sampled requests listed one by one in the details. */
const LISTED = 256;

export interface BuildHooks {
  progress(fraction: number): void;
  /** Selects the tfjs backend (once) before the first tensor work. */
  backend(): Promise<SelectedTfBackend>;
  /** Selects the similarity kernel (once) before the first fusion. */
  kernel(): Promise<SelectedKernel>;
  /** Milliseconds clock (timings in the details). */
  clock(): number;
  /**
   * Optional: the application's layer threads for a measurement of `fusedLayers` layers of
   * `elementsPerLayer` key elements each (its thread policy decides how many; null: fused in this
   * thread). Closed when the measurement ends.
   */
  layerThreads?(fusedLayers: number, elementsPerLayer: number): LayerThreads | null;
  /**
   * Optional: called between units of work (each layer fused, each batch of the model's
   * evaluation, each stage): the application stops the build by throwing here (a cancelled job).
   * The error propagates after what the build opened (layer threads, the model, a KV file) is
   * released.
   */
  checkpoint?(): void;
}

export interface SampledRequest {
  index: number;
  requestId?: string;
  promptTokens: number;
  tenant: string | null;
}

interface Sampled {
  from: string;
  available: number;
  requests: SampledRequest[];
}

function memoryLimit(b: SelectedTfBackend): number | null {
  if (b.choice === 'wasm') return WASM_HEAP_BYTES;
  if (b.choice === 'node-gpu') return null;
  return os.totalmem();
}

const listed = (r: SampledRequest[]): SampledRequest[] => r.slice(0, LISTED);

/**
 * A workload's fusion profile: sample requests of the workload (stratified by prompt length,
 * seeded), obtain their KV cache (captured with the model when the trace carries prompts and a
 * model folder is given; else the newest KV sample tied to the workload; else synthetic KV shaped
 * like the deployment's model), fuse at the configured thresholds and batch sizes
 * (libs/fusion's measureFusion), and build the fusion profile (accuracy measured on the model
 * when one was used), with what was done and why.
 */
export async function buildWorkloadFusionProfile(
  job: WorkloadFusionJob,
  hooks: BuildHooks,
): Promise<FusionJobResult> {
  const t0 = hooks.clock();
  const w = job.requests;
  const blockSize = job.blockSize;
  const s = job.fusion;
  const o = job.options;
  const namesTenants = w.tenants.some((t) => t !== null);
  let scope: 'global' | 'tenant' = s.scope ?? (namesTenants ? 'tenant' : 'global');
  const scopeNotes: string[] = [
    s.scope
      ? `scope ${s.scope} from the fusion config`
      : namesTenants
        ? 'scope tenant: the workload names tenants and the fusion config sets no scope'
        : 'scope global: the workload names no tenants',
  ];
  const want = Math.max(o.sampleSize, ...(s.mode === 'bff' ? (s.batchSizes ?? []) : []));
  const reasons: string[] = [];
  let backendName: string | null = null;
  const useBackend = async (): Promise<SelectedTfBackend> => {
    const b = await hooks.backend();
    backendName = b.backend;
    return b;
  };
  const { kernel } = await hooks.kernel();
  /** Tenant scope needs at least two tenants; a defaulted scope falls back to global, a configured one fails. */
  const checkTenants = (tenants: Array<string | null> | null): string[] | null => {
    if (scope !== 'tenant') return null;
    const distinct = new Set((tenants ?? []).filter((t): t is string => t !== null));
    if (distinct.size >= 2 && tenants) return tenants.map((t) => t ?? '');
    if (!tenants || distinct.size === 0) {
      if (s.scope === 'tenant')
        throw new InputError([
          { path: 'fusionConfig.scope', message: 'scope tenant, but the KV sample names no tenants' },
        ]);
      scopeNotes.push('the KV used names no tenants: fused with scope global');
    } else
      scopeNotes.push(
        `all sampled requests belong to one tenant (${[...distinct][0]}): scope tenant equals global`,
      );
    scope = 'global';
    return null;
  };

  /** BFF at the configured batch sizes, or CFF with chunks that fit the sample's prompts. */
  let chunkUsed: number | null = null;
  let layerThreadsUsed = 1;
  const measure = async (
    src: KvSource,
    profileOpts: { source: FusionSource; model: string | null },
    progress: (fraction: number) => void,
    chunkTokens: number | null = null,
  ): Promise<MeasuredFusion> => {
    hooks.checkpoint?.();
    const n = src.info.numSeqs;
    const window = s.window ?? 4;
    chunkUsed =
      s.mode === 'cff' ? (chunkTokens ?? cffChunkTokens(src.info.seqLens, window, src.info.blockSize)) : null;
    const options = {
      mode: s.mode,
      thresholds: s.thresholds,
      scope,
      kernel,
      ...(s.mode === 'bff'
        ? { batchSizes: s.batchSizes?.length ? s.batchSizes : [n] }
        : { window, chunkTokens: chunkUsed! }),
    };
    const { batchSizes: _b, ...fusion } = options as typeof options & { batchSizes?: number[] };
    const pool =
      hooks.layerThreads?.(
        resolveFusionOptions(fusion, src.info).fused.length,
        n * src.info.maxBlocks * blockDim(src.info),
      ) ?? null;
    layerThreadsUsed = Math.max(layerThreadsUsed, pool?.threads ?? 1);
    try {
      return await measureFusion(src, options, profileOpts, {
        onProgress: progress,
        ...(hooks.checkpoint && { checkpoint: () => hooks.checkpoint!() }),
        ...(pool ? pool.hooks() : {}),
      });
    } finally {
      await pool?.close();
    }
  };

  const trace = job.trace;
  const prompts = trace !== null && traceCarriesPrompts(trace.text, trace.format);
  if (!trace) reasons.push('no model capture: the workload is a generator, not a stored trace');
  else if (!prompts) reasons.push('no model capture: the trace carries neither text nor token_ids');
  else if (!job.modelDir)
    reasons.push(
      'no model capture: the trace carries prompts, but this worker has no model folder (KVPLAN_MODEL_DIR)',
    );

  // 1. A real model on the trace's prompts.
  if (prompts && job.modelDir) {
    const folder = openModelFolder(job.modelDir);
    const records = readTracePrompts(trace.text, trace.format);
    const c = folder.config;
    const needText = records.some((r) => r.tokenIds === null);
    const tokenizer = needText && folder.tokenizerFile ? loadTokenizer(job.modelDir) : null;
    const cap = Math.min(
      o.maxPromptTokens + CONTINUATION_TOKENS,
      c.contextLength + CONTINUATION_TOKENS - GENERATE_TOKENS,
      c.contextLength,
    );
    const usable: TokenizedPrompt[] = [];
    let noTokenizer = 0;
    for (const r of records) {
      const ids = r.tokenIds ?? (tokenizer && r.text !== null ? tokenizer.encode(r.text) : null);
      if (!ids) {
        noTokenizer++;
        continue;
      }
      if (ids.length < CONTINUATION_TOKENS + blockSize || ids.some((t) => t >= c.vocabSize)) continue;
      usable.push({ id: r.id, where: r.where, tokens: ids.slice(0, cap), tenant: r.tenant });
    }
    if (usable.length >= 2) {
      const idx = stratifiedSample(
        usable.map((p) => p.tokens.length),
        Math.min(want, usable.length),
        o.seed,
      );
      const picked = idx.map((k) => usable[k]);
      const tenants = checkTenants(picked.map((p) => p.tenant));
      const backend = await useBackend();
      const limit = memoryLimit(backend);
      const prefixLens = picked.map((p) => p.tokens.length - CONTINUATION_TOKENS);
      const chunkTokens = s.mode === 'cff' ? cffChunkTokens(prefixLens, s.window ?? 4, blockSize) : null;
      hooks.checkpoint?.();
      const model = loadModel(folder, { memoryLimitBytes: limit, backendName: backend.backend });
      let evalResult;
      try {
        evalResult = await evaluateFusion(
          model,
          picked.map((p) => (tenants ? p : { ...p, tenant: null })),
          {
            thresholds: s.thresholds,
            fusion: {
              mode: s.mode,
              scope,
              ...(s.mode === 'cff' ? { window: s.window ?? 4, chunkTokens: chunkTokens! } : {}),
            },
            blockSize,
            continuationTokens: CONTINUATION_TOKENS,
            generateTokens: GENERATE_TOKENS,
            batchSize: Math.min(picked.length, Math.max(...(s.mode === 'bff' ? (s.batchSizes ?? [8]) : [8]))),
            keepSample: true,
            memoryLimitBytes: limit,
            backendName: backend.backend,
            clock: hooks.clock,
            onProgress: (d, t) => hooks.progress((0.7 * d) / t),
            ...(hooks.checkpoint && { checkpoint: () => hooks.checkpoint!() }),
          },
        );
      } finally {
        model.dispose();
      }
      const measured = await measure(
        evalResult.sample!,
        { source: 'model', model: evalResult.model },
        (f) => hooks.progress(0.7 + 0.3 * f),
        chunkTokens,
      );
      const profile = {
        ...measured.profile,
        accuracy: [...evalResult.accuracy, ...(measured.profile.accuracy ?? [])],
      };
      return output('model', profile, measured, {
        sample: {
          from: 'the trace prompts, tokenized for the model',
          available: usable.length,
          requests: picked.map((p, k) => ({
            index: idx[k],
            requestId: p.id,
            promptTokens: p.tokens.length,
            tenant: p.tenant,
          })),
        },
        kv: { model: evalResult.model, modelDir: path.basename(job.modelDir) },
        accuracy: {
          source: 'measured',
          perplexityOriginal: evalResult.perplexityOriginal,
          continuationTokens: CONTINUATION_TOKENS,
          generateTokens: GENERATE_TOKENS,
        },
      });
    }
    reasons.push(
      `no model capture: only ${usable.length} of the trace's ${records.length} prompts are usable with ${folder.name}` +
        ` (at least ${CONTINUATION_TOKENS + blockSize} tokens, ids inside the vocabulary${noTokenizer ? `; ${noTokenizer} text prompts and no tokenizer.json` : ''})`,
    );
  }

  // 2. The newest KV sample uploaded for this workload profile.
  if (job.kvSamples.length) {
    const kv = job.kvSamples[0];
    const reader = openKvSample(kv.file);
    try {
      const info = reader.info;
      const idx = stratifiedSample(info.seqLens, Math.min(want, info.numSeqs), o.seed);
      const tenants = checkTenants(info.tenants ? idx.map((k) => info.tenants![k]) : null);
      const src = new SubsetKvSource(reader, idx, {
        seqLens: idx.map((k) => Math.min(info.seqLens[k], o.maxPromptTokens)),
        ...(tenants ? { tenants } : {}),
      });
      await useBackend();
      const measured = await measure(src, { source: 'kv-sample', model: info.model }, hooks.progress);
      if (info.blockSize !== blockSize)
        scopeNotes.push(`the KV sample has ${info.blockSize}-token blocks, the deployment ${blockSize}`);
      return output('kv-sample', measured.profile, measured, {
        sample: {
          from: `KV sample ${kv.name}`,
          available: info.numSeqs,
          requests: idx.map((k) => ({
            index: k,
            promptTokens: info.seqLens[k],
            tenant: info.tenants?.[k] ?? null,
          })),
        },
        kv: { kvSampleId: kv.id, model: info.model, synthetic: info.synthetic },
        accuracy: { source: 'proxy' },
      });
    } finally {
      reader.close();
    }
  }
  reasons.push('no uploaded KV sample: none is tied to this workload profile');

  // 3. Synthetic KV shaped like the deployment's model and the sampled requests.
  if (w.n === 0) throw new InputError([{ path: 'workload', message: 'the workload has no requests' }]);
  const idx = stratifiedSample(w.inputTokens, Math.min(want, w.n), o.seed);
  const lens = idx.map((k) => Math.min(w.inputTokens[k], o.maxPromptTokens));
  const reqTenants = idx.map((k) => w.tenants[k]);
  const tenants = checkTenants(reqTenants);
  const m = job.model;
  const synth = synthesizeKvSample({
    numSeqs: idx.length,
    blocksPerSeq: Math.max(1, Math.ceil(Math.max(...lens) / blockSize)),
    numLayers: m.numLayers,
    blockSize,
    numKvHeads: m.numKvHeads,
    headDim: m.headDim,
    model: m.id,
    seed: o.seed,
  });
  const src = new SubsetKvSource(
    synth,
    idx.map((_, k) => k),
    { seqLens: lens, tenants },
  );
  await useBackend();
  const measured = await measure(src, { source: 'synthetic', model: m.id }, hooks.progress);
  return output('synthetic', measured.profile, measured, {
    sample: {
      from: trace ? 'the stored trace' : 'the workload generator',
      available: w.n,
      requests: idx.map((k, j) => ({
        index: k,
        ...(w.requestIds ? { requestId: w.requestIds[k] } : {}),
        promptTokens: lens[j],
        tenant: reqTenants[j],
      })),
    },
    kv: {
      synthetic: true,
      model: m.id,
      shape: { numLayers: m.numLayers, numKvHeads: m.numKvHeads, headDim: m.headDim, blockSize },
      note: 'synthetic KV from the generator of libs/fusion: compression and accuracy are proxies, not measurements of the model',
    },
    accuracy: { source: 'proxy' },
  });

  function output(
    source: FusionSource,
    profile: FusionProfile,
    measured: MeasuredFusion,
    extra: { sample: Sampled; kv: Record<string, unknown>; accuracy: Record<string, unknown> },
  ): FusionJobResult {
    const sample = extra.sample;
    return {
      source,
      profile,
      details: {
        source,
        reasons,
        sample: {
          from: sample.from,
          stratifiedBy: 'prompt length',
          seed: o.seed,
          available: sample.available,
          size: sample.requests.length,
          maxPromptTokens: o.maxPromptTokens,
          requests: listed(sample.requests),
        },
        kv: extra.kv,
        fusion: {
          mode: s.mode,
          thresholds: s.thresholds,
          scope,
          notes: scopeNotes,
          ...(s.mode === 'bff'
            ? { batchSizes: measured.runs.map((r) => r.size) }
            : { window: s.window ?? 4, chunkTokens: chunkUsed }),
          runs: measured.runs,
        },
        accuracy: extra.accuracy,
        tfBackend: backendName,
        similarityKernel: kernel.name,
        layerThreads: layerThreadsUsed,
        seconds: Math.round(hooks.clock() - t0) / 1000,
      },
    };
  }
}
