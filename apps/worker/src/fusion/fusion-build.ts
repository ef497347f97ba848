import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { InputError, type FusionProfile } from '@kvplan/core';
import {
  analyzeFusion,
  buildFusionProfile,
  fitRateDistortionPoints,
  openKvSample,
  rdPointsFromAnalysis,
  synthesizeKvSample,
  type FusionAnalysis,
  type FusionOptions,
  type KvSource,
  type SelectedTfBackend,
  type SimilarityHistogram,
} from '@kvplan/fusion';
import {
  evaluateFusion,
  loadModel,
  loadTokenizer,
  openModelFolder,
  WASM_HEAP_BYTES,
  type TokenizedPrompt,
} from '@kvplan/model';
import { resolveSimulationSpec } from '@kvplan/sim';
import type { FusionJobInput, FusionJobOutput, FusionJobSettings, FusionSource } from './fusion-job';
import { firstSequences, SubsetKvSource } from './kv-sources';
import { stratifiedSample } from './sampling';
import { readTracePrompts, traceCarriesPrompts } from './trace-prompts';

/** Teacher-forced continuation and greedy tokens of the accuracy measurement (libs/model's defaults). */
const CONTINUATION_TOKENS = 16;
const GENERATE_TOKENS = 16;
/** Sampled requests listed one by one in the details. */
const LISTED = 256;
/** Largest CFF chunk the job measures with (kvplan fuse's default). */
const MAX_CHUNK_TOKENS = 512;

export interface BuildHooks {
  progress(fraction: number): void;
  /** Selects the tfjs backend (once) before the first tensor work. */
  backend(): Promise<SelectedTfBackend>;
  /** Milliseconds clock (timings in the details). */
  clock(): number;
}

interface SampledRequest {
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

/** The CFF chunk length the job measures with: a window of chunks must fit the longest prompt. */
export function cffChunkTokens(seqLens: number[], window: number, blockSize: number): number {
  const longest = Math.max(0, ...seqLens);
  const chunk = Math.floor(longest / window / blockSize) * blockSize;
  if (chunk < blockSize)
    throw new InputError([
      {
        path: 'fusionConfig.window',
        message: `the longest sampled prompt (${longest} tokens) holds no window of ${window} chunks of at least one ${blockSize}-token block`,
      },
    ]);
  return Math.min(chunk, MAX_CHUNK_TOKENS);
}

interface Measured {
  profile: FusionProfile;
  /** Per analysis (batch size, or the CFF window): compression at each threshold. */
  runs: Array<{
    size: number;
    thresholds: Array<{
      threshold: number;
      compressionRatio: number | null;
      compressionRatioAllLayers: number;
    }>;
  }>;
  chunkTokens: number | null;
}

/**
 * BFF at each batch size (the first B sequences of the sample; every subtree of a batch's merge
 * tree is a measured point too) or CFF over the whole sample, at every threshold; the
 * rate-distortion model is fitted to all measured points together.
 */
export async function measureFusion(
  src: KvSource,
  s: FusionJobSettings & { scope: 'global' | 'tenant' },
  profileOpts: { source: FusionSource; model: string | null },
  progress: (fraction: number) => void,
  chunkTokens: number | null = null,
): Promise<Measured> {
  const n = src.info.numSeqs;
  const base: Partial<FusionOptions> = {
    mode: s.mode,
    thresholds: s.thresholds,
    scope: s.scope,
    similarityHistogram: true,
  };
  let sizes: number[];
  let chunk: number | null = null;
  if (s.mode === 'bff') {
    if (n < 2)
      throw new InputError([
        { path: 'sample', message: `BFF needs at least 2 sequences, the sample has ${n}` },
      ]);
    sizes = [...new Set((s.batchSizes?.length ? s.batchSizes : [n]).map((b) => Math.min(b, n)))]
      .filter((b) => b >= 2)
      .sort((a, b) => a - b);
  } else {
    const window = s.window ?? 4;
    chunk = chunkTokens ?? cffChunkTokens(src.info.seqLens, window, src.info.blockSize);
    base.window = window;
    base.chunkTokens = chunk;
    sizes = [n];
  }
  const cost = sizes.map((b) => (s.mode === 'bff' ? b * b : b));
  const totalCost = cost.reduce((a, b) => a + b, 0);
  let done = 0;
  const analyses: FusionAnalysis[] = [];
  for (let k = 0; k < sizes.length; k++) {
    const view = s.mode === 'bff' ? firstSequences(src, sizes[k]) : src;
    analyses.push(
      await analyzeFusion(view, base, {
        onLayer: (_r, l, L) => progress((done + (cost[k] * (l + 1)) / L) / totalCost),
      }),
    );
    done += cost[k];
  }
  const main = analyses[analyses.length - 1];
  const fusedAny = main.layers.some((l) => l.fused);
  const histograms = new Map<number, SimilarityHistogram | null>();
  for (const l of main.layers) if (l.fused) histograms.set(l.layer, l.similarity);
  const fit = fusedAny ? fitRateDistortionPoints(analyses.flatMap(rdPointsFromAnalysis), histograms) : null;
  const built = analyses.map((a) => buildFusionProfile(a, { ...profileOpts, ...(fit ? { fit } : {}) }));
  // Points: each batch's own top-level measurement first, then the subtrees no batch measured.
  const points = new Map<string, FusionProfile['points'][number]>();
  const sizeOf = (p: FusionProfile['points'][number]): number => p.batchSize ?? p.window ?? 0;
  built.forEach((b, k) =>
    b.points
      .filter((p) => s.mode === 'cff' || sizeOf(p) === sizes[k])
      .forEach((p) => points.set(`${p.threshold}|${sizeOf(p)}`, p)),
  );
  for (const b of built)
    for (const p of b.points)
      if (!points.has(`${p.threshold}|${sizeOf(p)}`)) points.set(`${p.threshold}|${sizeOf(p)}`, p);
  const profile: FusionProfile = {
    ...built[built.length - 1],
    points: [...points.values()].sort((a, b) => a.threshold - b.threshold || sizeOf(a) - sizeOf(b)),
  };
  return {
    profile,
    runs: analyses.map((a, k) => ({
      size: sizes[k],
      thresholds: a.thresholds.map((t) => ({
        threshold: t.threshold,
        compressionRatio: t.compressionRatio,
        compressionRatioAllLayers: t.compressionRatioAllLayers,
      })),
    })),
    chunkTokens: chunk,
  };
}

function memoryLimit(b: SelectedTfBackend): number | null {
  if (b.choice === 'wasm') return WASM_HEAP_BYTES;
  if (b.choice === 'node-gpu') return null;
  return os.totalmem();
}

const listed = (r: SampledRequest[]): SampledRequest[] => r.slice(0, LISTED);

/**
 * The fusion-profile job (runs in a worker thread): sample requests of the workload (stratified by
 * prompt length, seeded), obtain their KV cache (captured with the worker's model when the trace
 * carries prompts; else the newest KV sample tied to the workload profile; else synthetic KV
 * shaped like the deployment's model), fuse at the configured thresholds and batch sizes, and
 * build the fusion profile (accuracy measured on the model when one was used).
 */
export async function buildFusionJob(input: FusionJobInput, hooks: BuildHooks): Promise<FusionJobOutput> {
  const t0 = hooks.clock();
  const resolved = resolveSimulationSpec(input.spec, { fileName: 'spec', baseDir: input.baseDir });
  const w = resolved.workload;
  const blockSize = resolved.engine.blockSize;
  const s = input.fusion;
  const o = input.options;
  const namesTenants = w.tenantNames.length > 0;
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

  let traceText: string | null = null;
  if (input.trace) traceText = fs.readFileSync(path.resolve(input.baseDir, input.trace.path), 'utf8');
  const prompts = traceText !== null && traceCarriesPrompts(traceText, input.trace!.path);
  if (!input.trace) reasons.push('no model capture: the workload is a generator, not a stored trace');
  else if (!prompts) reasons.push('no model capture: the trace carries neither text nor token_ids');
  else if (!input.modelDir)
    reasons.push(
      'no model capture: the trace carries prompts, but this worker has no model folder (KVPLAN_MODEL_DIR)',
    );

  // 1. A real model on the trace's prompts.
  if (prompts && input.modelDir) {
    const folder = openModelFolder(input.modelDir);
    const records = readTracePrompts(traceText!, input.trace!.path);
    const c = folder.config;
    const needText = records.some((r) => r.tokenIds === null);
    const tokenizer = needText && folder.tokenizerFile ? loadTokenizer(input.modelDir) : null;
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
          },
        );
      } finally {
        model.dispose();
      }
      const measured = await measureFusion(
        evalResult.sample!,
        { ...s, scope },
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
        kv: { model: evalResult.model, modelDir: path.basename(input.modelDir) },
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
  if (input.kvSamples.length) {
    const kv = input.kvSamples[0];
    const reader = openKvSample(path.resolve(input.baseDir, kv.path));
    try {
      const info = reader.info;
      const idx = stratifiedSample(info.seqLens, Math.min(want, info.numSeqs), o.seed);
      const tenants = checkTenants(info.tenants ? idx.map((k) => info.tenants![k]) : null);
      const src = new SubsetKvSource(reader, idx, {
        seqLens: idx.map((k) => Math.min(info.seqLens[k], o.maxPromptTokens)),
        ...(tenants ? { tenants } : {}),
      });
      await useBackend();
      const measured = await measureFusion(
        src,
        { ...s, scope },
        { source: 'kv-sample', model: info.model },
        hooks.progress,
      );
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
  const reqTenants = idx.map((k) => (w.tenant[k] >= 0 ? w.tenantNames[w.tenant[k]] : null));
  const tenants = checkTenants(reqTenants);
  const m = resolved.model;
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
  const measured = await measureFusion(
    src,
    { ...s, scope },
    { source: 'synthetic', model: m.id },
    hooks.progress,
  );
  return output('synthetic', measured.profile, measured, {
    sample: {
      from: input.trace ? 'the stored trace' : 'the workload generator',
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
    measured: Measured,
    extra: { sample: Sampled; kv: Record<string, unknown>; accuracy: Record<string, unknown> },
  ): FusionJobOutput {
    const sample = extra.sample;
    return {
      source,
      profile: profile as unknown as Record<string, unknown>,
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
            : { window: s.window ?? 4, chunkTokens: measured.chunkTokens }),
          runs: measured.runs,
        },
        accuracy: extra.accuracy,
        tfBackend: backendName,
        seconds: Math.round(hooks.clock() - t0) / 1000,
      },
    };
  }
}
