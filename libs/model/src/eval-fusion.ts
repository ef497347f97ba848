import { InputError, type FusionProfile } from '@kvplan/core';
import {
  analyzeFusion,
  measureFusion,
  fullBlocks,
  resolveFusionOptions,
  type FusionOptions,
  type KvLayer,
  type KvSampleInfo,
} from '@kvplan/fusion';
import { cacheLayers, checkPositiveInt, MemoryKvSample, sampleInfo } from './capture';
import { KvCache } from './kv-cache';
import type { LlamaModel } from './model';
import type { TokenizedPrompt } from './prompts';
import { argmax, logSoftmax, meanEstimate, proportionEstimate, tokenF1, type Estimate } from './stats';
import { checkMemory, estimateMemory } from './weights';

export interface EvalFusionOptions {
  /** Cosine thresholds (each evaluated against the original cache). */
  thresholds: number[];
  /**
   * Fusion settings passed to libs/fusion (mode bff|cff, merge, scope, fused layers, chunk
   * tokens, window, search, removeRope, ...). thresholds, keepReconstruction and the clock are
   * set here.
   */
  fusion?: Partial<Omit<FusionOptions, 'thresholds' | 'keepReconstruction' | 'clock'>>;
  /** Tokens per KV block (default 16). */
  blockSize?: number;
  /**
   * The last `continuationTokens` tokens of each prompt are its teacher-forced continuation; the
   * tokens before them (the prefix) are prefilled and fused. Default 16.
   */
  continuationTokens?: number;
  /** Greedy tokens generated from the prefix with each cache (default 16; stops at EOS). */
  generateTokens?: number;
  /** Prompts prefilled (and, with BFF, fused) together (default 8). */
  batchSize?: number;
  /** Last-token queries per prompt given to the attention-error proxy (default 1). */
  numQueries?: number;
  /** Keep all prefixes' KV as one sample (for a fusion profile). Default true. */
  keepSample?: boolean;
  memoryLimitBytes?: number | null;
  backendName?: string;
  /** Milliseconds clock for timings (libraries own no clock); null: none. */
  clock?: (() => number) | null;
  /** Progress in steps (per batch: one prefill and one step per threshold). */
  onProgress?: (done: number, total: number) => void;
  /**
   * Called before each step (a batch's prefill, each threshold's fusion and continuation) and
   * before each layer of a fusion: an application stops the evaluation by throwing here.
   */
  checkpoint?: () => void;
}

export interface ThresholdAccuracy {
  threshold: number;
  /** Full blocks of the prefixes over all layers, and those left after fusion. */
  totalBlocks: number;
  survivingBlocks: number;
  /** Over the fused layers (the paper's count); null when no layer is fused. */
  compressionRatio: number | null;
  compressionRatioAllLayers: number;
  /** Fraction of the fused layers' blocks that fusion removed. */
  fusedAwayFraction: number;
  /** Fraction of continuation positions whose argmax agrees (per prompt, then over prompts). */
  nextTokenAgreement: Estimate;
  /** KL(original || fused) of the next-token distribution, nats per position. */
  klDivergence: Estimate;
  perplexityOriginal: number | null;
  perplexityFused: number | null;
  /** perplexityFused / perplexityOriginal - 1 (interval from the paired per-prompt log ratios). */
  perplexityChange: Estimate | null;
  /** Prompts whose greedy generation is identical. */
  greedyExactMatch: Estimate;
  /** Fraction of generated positions with the same token. */
  greedyTokenMatch: Estimate;
  /** Bag-of-tokens F1 of the two generations. */
  greedyTokenF1: Estimate;
  /** libs/fusion's attention-output proxy (real last-token queries), mean over prompts. */
  attentionRelError: number | null;
  seconds: number | null;
}

export type AccuracyEntry = NonNullable<FusionProfile['accuracy']>[number];

export interface FusionEvalResult {
  model: string;
  numPrompts: number;
  mode: 'bff' | 'cff';
  batchSize: number;
  blockSize: number;
  continuationTokens: number;
  generateTokens: number;
  fusedLayers: number[];
  /** Perplexity of the original model on the continuations. */
  perplexityOriginal: number | null;
  thresholds: ThresholdAccuracy[];
  /** The fusion profile's `accuracy` entries ("measured on <model>, <n> prompts"). */
  accuracy: AccuracyEntry[];
  /** The prefixes' KV, all prompts (when keepSample). */
  sample: MemoryKvSample | null;
  seconds: { prefill: number; original: number; fusion: number; fusedRuns: number; total: number } | null;
}

interface RunOutput {
  /** [B, C, V] teacher-forced logits. */
  logits: Float32Array;
  /** Greedy generations (truncated after EOS). */
  generated: number[][];
}

interface PerPrompt {
  agreement: number;
  kl: number;
  nllOrig: number;
  nllFused: number;
  exact: boolean;
  match: number;
  f1: number;
  attn: number | null;
}

/**
 * Measures what KV fusion does to the model's predictions. Per batch: prefill the prompts'
 * prefixes, fuse the cache at each threshold (libs/fusion's BFF over the batch or CFF over each
 * prompt's chunks, with the reconstructed K/V), then continue from the fused cache and from the
 * original one through the same code path: next-token agreement and KL over the teacher-forced
 * continuation, perplexity of the continuation, and greedy generation compared token by token.
 * With a threshold at which nothing fuses the two caches are bit-identical, so every metric is
 * exactly perfect.
 */
export async function evaluateFusion(
  model: LlamaModel,
  prompts: TokenizedPrompt[],
  opts: EvalFusionOptions,
): Promise<FusionEvalResult> {
  const c = model.config;
  const blockSize = opts.blockSize ?? 16;
  const C = opts.continuationTokens ?? 16;
  const G = opts.generateTokens ?? 16;
  const batchSize = opts.batchSize ?? 8;
  const wantQ = opts.numQueries ?? 1;
  const clock = opts.clock ?? null;
  const issues: Array<{ path: string; message: string }> = [];
  checkPositiveInt(blockSize, 'options.blockSize', issues);
  checkPositiveInt(C, 'options.continuationTokens', issues);
  checkPositiveInt(G, 'options.generateTokens', issues);
  checkPositiveInt(batchSize, 'options.batchSize', issues);
  checkPositiveInt(wantQ, 'options.numQueries', issues, 0);
  if (prompts.length === 0) issues.push({ path: 'prompts', message: 'no prompts' });
  for (const p of prompts) {
    if (p.tokens.length < C + 1)
      issues.push({
        path: p.where,
        message: `${p.tokens.length} tokens; at least ${C + 1} are needed (a prefix and the ${C}-token continuation)`,
      });
    else if (p.tokens.length - C + G > c.contextLength)
      issues.push({
        path: p.where,
        message: `prefix of ${p.tokens.length - C} tokens + ${G} generated is longer than the model's context of ${c.contextLength} tokens`,
      });
    else if (p.tokens.length > c.contextLength)
      issues.push({
        path: p.where,
        message: `${p.tokens.length} tokens is longer than the model's context of ${c.contextLength}`,
      });
  }
  if (issues.length) throw new InputError(issues);
  const prefixes: TokenizedPrompt[] = prompts.map((p) => ({
    ...p,
    tokens: p.tokens.slice(0, p.tokens.length - C),
  }));
  const nq = Math.min(wantQ, ...prefixes.map((p) => p.tokens.length));
  // Options checked once against the whole sample (a batch with a shorter longest prefix may
  // hold no full CFF window; it is then left unfused).
  const wholeInfo = sampleInfo(model, prefixes, blockSize, nq);
  const fusionOpts: Partial<FusionOptions> = { ...opts.fusion, thresholds: opts.thresholds };
  const resolved = resolveFusionOptions(fusionOpts, wholeInfo);
  const mode = resolved.mode;
  const eos = new Set(c.eosTokenIds);
  const V = c.vocabSize;

  const per: PerPrompt[][] = opts.thresholds.map(() => []);
  const blocks = opts.thresholds.map(() => ({ total: 0, surviving: 0, fusedTotal: 0, fusedSurviving: 0 }));
  const seconds = { prefill: 0, original: 0, fusion: 0, fusedRuns: 0, total: 0 };
  const perThresholdSeconds = opts.thresholds.map(() => 0);
  const t0 = clock ? clock() : 0;
  const lap = (): number => (clock ? clock() : 0);

  const keep = opts.keepSample ?? true;
  const stride = wholeInfo.maxBlocks * blockSize * c.numKvHeads * c.headDim;
  const qStride = nq * c.numHeads * c.headDim;
  const whole: KvLayer[] | null = keep
    ? Array.from({ length: c.numLayers }, (_, l) => ({
        layer: l,
        key: new Float32Array(prompts.length * stride),
        value: new Float32Array(prompts.length * stride),
        query: nq > 0 ? new Float32Array(prompts.length * qStride) : null,
      }))
    : null;

  const batches = Math.ceil(prompts.length / batchSize);
  const steps = batches * (1 + opts.thresholds.length);
  let done = 0;
  for (let b0 = 0; b0 < prompts.length; b0 += batchSize) {
    opts.checkpoint?.();
    const batch = prefixes.slice(b0, b0 + batchSize);
    const conts = prompts.slice(b0, b0 + batchSize).map((p) => p.tokens.slice(p.tokens.length - C));
    const B = batch.length;
    const T = Math.max(...batch.map((p) => p.tokens.length));
    checkMemory(
      estimateMemory(
        c,
        { batch: B, tokens: T + Math.max(C, G), chunkTokens: T, caches: 3, logitRows: B * C },
        opts.memoryLimitBytes ?? null,
      ),
      `evaluating ${B} prompts with prefixes of up to ${T} tokens on ${model.name}`,
      opts.backendName ?? 'current',
    );
    let ts = lap();
    const pre = model.prefill(
      batch.map((p) => p.tokens),
      { queries: nq },
    );
    const info: KvSampleInfo = sampleInfo(model, batch, blockSize, nq);
    let layers: KvLayer[];
    try {
      layers = cacheLayers(pre.cache, pre.queries, info);
    } finally {
      pre.cache.dispose();
    }
    const first = Array.from({ length: B }, (_, i) => argmax(pre.logits!, i * V, V));
    if (whole) {
      const bStride = info.maxBlocks * blockSize * c.numKvHeads * c.headDim;
      for (let l = 0; l < c.numLayers; l++) {
        for (let i = 0; i < B; i++) {
          whole[l].key.set(layers[l].key.subarray(i * bStride, (i + 1) * bStride), (b0 + i) * stride);
          whole[l].value.set(layers[l].value.subarray(i * bStride, (i + 1) * bStride), (b0 + i) * stride);
        }
        if (nq > 0) whole[l].query!.set(layers[l].query!, b0 * qStride);
      }
    }
    seconds.prefill += (lap() - ts) / 1000;
    ts = lap();
    const orig = continueFrom(model, layers, info, conts, first, G, eos);
    seconds.original += (lap() - ts) / 1000;
    opts.onProgress?.(++done, steps);
    await new Promise<void>((resolve) => setImmediate(resolve));
    const source = new MemoryKvSample(info, layers);
    const longest = Math.max(...info.seqLens);
    const cffTooShort = mode === 'cff' && resolved.window * resolved.chunkTokens > longest;

    for (let k = 0; k < opts.thresholds.length; k++) {
      opts.checkpoint?.();
      const t = opts.thresholds[k];
      const tk = lap();
      let fusedLayers: Array<{ key: Float32Array; value: Float32Array }>;
      let attnPerSeq: number[] | null = null;
      if (cffTooShort) {
        // No full window in this batch: nothing fuses.
        const full = fullBlocks(info).reduce((a, x) => a + x, 0);
        blocks[k].total += full * c.numLayers;
        blocks[k].surviving += full * c.numLayers;
        blocks[k].fusedTotal += full * resolved.fused.length;
        blocks[k].fusedSurviving += full * resolved.fused.length;
        fusedLayers = layers;
      } else {
        const a = await analyzeFusion(
          source,
          { ...fusionOpts, thresholds: [t], keepReconstruction: true },
          { ...(opts.checkpoint && { checkpoint: opts.checkpoint }) },
        );
        const s = a.thresholds[0];
        blocks[k].total += s.totalBlocks;
        blocks[k].surviving += s.survivingBlocks;
        for (const l of a.layers)
          if (l.fused) {
            blocks[k].fusedTotal += l.thresholds[0].totalBlocks;
            blocks[k].fusedSurviving += l.thresholds[0].survivingBlocks;
          }
        fusedLayers = a.layers.map((l) => ({ key: l.thresholds[0].key!, value: l.thresholds[0].value! }));
        const att = a.layers.filter((l) => l.fused).map((l) => l.thresholds[0].distortion?.attention ?? null);
        if (att.length && att.every((x) => x !== null))
          attnPerSeq = Array.from(
            { length: B },
            (_, i) => att.reduce((acc, x) => acc + x!.perSeq[i], 0) / att.length,
          );
      }
      const tf0 = lap();
      seconds.fusion += (tf0 - tk) / 1000;
      const fused = continueFrom(model, fusedLayers, info, conts, first, G, eos);
      seconds.fusedRuns += (lap() - tf0) / 1000;
      perThresholdSeconds[k] += (lap() - tk) / 1000;
      for (let i = 0; i < B; i++) {
        const m = comparePrompt(orig, fused, i, C, V, conts[i]);
        per[k].push({ ...m, attn: attnPerSeq ? attnPerSeq[i] : null });
      }
      opts.onProgress?.(++done, steps);
      await new Promise<void>((resolve) => setImmediate(resolve));
    }
  }
  seconds.total = (lap() - t0) / 1000;

  const thresholds: ThresholdAccuracy[] = opts.thresholds.map((threshold, k) => {
    const ps = per[k];
    const n = ps.length;
    const bl = blocks[k];
    let pplChange: Estimate | null = null;
    let pplFused: number | null = null;
    let pplOrigK: number | null = null;
    if (C >= 2) {
      const diffs = ps.map((p) => p.nllFused - p.nllOrig);
      const d = meanEstimate(diffs);
      pplFused = Math.exp(ps.reduce((a, p) => a + p.nllFused, 0) / n);
      pplOrigK = Math.exp(ps.reduce((a, p) => a + p.nllOrig, 0) / n);
      pplChange = {
        value: Math.exp(d.value) - 1,
        interval: d.interval ? [Math.exp(d.interval[0]) - 1, Math.exp(d.interval[1]) - 1] : null,
        n,
      };
    }
    const attn = ps.every((p) => p.attn !== null) && n > 0 ? ps.reduce((a, p) => a + p.attn!, 0) / n : null;
    return {
      threshold,
      totalBlocks: bl.total,
      survivingBlocks: bl.surviving,
      compressionRatio:
        resolved.fused.length && bl.fusedSurviving > 0 ? bl.fusedTotal / bl.fusedSurviving : null,
      compressionRatioAllLayers: bl.surviving > 0 ? bl.total / bl.surviving : 1,
      fusedAwayFraction: bl.fusedTotal > 0 ? 1 - bl.fusedSurviving / bl.fusedTotal : 0,
      nextTokenAgreement: meanEstimate(
        ps.map((p) => p.agreement),
        0,
        1,
      ),
      klDivergence: meanEstimate(
        ps.map((p) => p.kl),
        0,
      ),
      perplexityOriginal: pplOrigK,
      perplexityFused: pplFused,
      perplexityChange: pplChange,
      greedyExactMatch: proportionEstimate(ps.filter((p) => p.exact).length, n),
      greedyTokenMatch: meanEstimate(
        ps.map((p) => p.match),
        0,
        1,
      ),
      greedyTokenF1: meanEstimate(
        ps.map((p) => p.f1),
        0,
        1,
      ),
      attentionRelError: attn,
      seconds: clock ? perThresholdSeconds[k] : null,
    };
  });
  const result: FusionEvalResult = {
    model: model.name,
    numPrompts: prompts.length,
    mode,
    batchSize,
    blockSize,
    continuationTokens: C,
    generateTokens: G,
    fusedLayers: resolved.fused,
    // Every prompt has C - 1 targets, so the mean of per-prompt mean NLLs is the pooled mean.
    perplexityOriginal: thresholds[0].perplexityOriginal,
    thresholds,
    accuracy: [],
    sample: whole ? new MemoryKvSample(wholeInfo, whole) : null,
    seconds: clock ? seconds : null,
  };
  result.accuracy = accuracyEntries(result);
  return result;
}

/** Teacher-forced continuation and greedy generation from a cache rebuilt from `layers`. */
function continueFrom(
  model: LlamaModel,
  layers: Array<{ key: Float32Array; value: Float32Array }>,
  info: KvSampleInfo,
  conts: number[][],
  first: number[],
  G: number,
  eos: Set<number>,
): RunOutput {
  const B = conts.length;
  const C = conts[0].length;
  const V = model.config.vocabSize;
  const cache = KvCache.fromBlocks(layers, info, info.seqLens);
  let cur: KvCache = cache;
  try {
    const tokens = new Int32Array(B * C);
    conts.forEach((ct, i) => tokens.set(ct, i * C));
    const tf = model.forward({ tokens, batch: B }, cache, { logits: 'all' });
    tf.cache.dispose();
    const generated = first.map((t) => [t]);
    for (let step = 1; step < G; step++) {
      const last = Int32Array.from(generated, (g) => g[g.length - 1]);
      const r = model.forward({ tokens: last, batch: B }, cur, { logits: 'last' });
      if (cur !== cache) cur.dispose();
      cur = r.cache;
      for (let i = 0; i < B; i++) generated[i].push(argmax(r.logits!, i * V, V));
    }
    return {
      logits: tf.logits!,
      generated: generated.map((g) => {
        const e = g.findIndex((t) => eos.has(t));
        return e >= 0 ? g.slice(0, e + 1) : g;
      }),
    };
  } finally {
    if (cur !== cache) cur.dispose();
    cache.dispose();
  }
}

function comparePrompt(
  orig: RunOutput,
  fused: RunOutput,
  i: number,
  C: number,
  V: number,
  cont: number[],
): Omit<PerPrompt, 'attn'> {
  const lo = new Float64Array(V);
  const lf = new Float64Array(V);
  let agree = 0;
  let kl = 0;
  let nllO = 0;
  let nllF = 0;
  for (let j = 0; j < C; j++) {
    const off = (i * C + j) * V;
    if (argmax(orig.logits, off, V) === argmax(fused.logits, off, V)) agree++;
    logSoftmax(orig.logits, off, V, lo);
    logSoftmax(fused.logits, off, V, lf);
    let klj = 0;
    for (let v = 0; v < V; v++) klj += Math.exp(lo[v]) * (lo[v] - lf[v]);
    kl += Math.max(0, klj);
    if (j < C - 1) {
      nllO -= lo[cont[j + 1]];
      nllF -= lf[cont[j + 1]];
    }
  }
  const a = orig.generated[i];
  const b = fused.generated[i];
  let same = 0;
  for (let k = 0; k < Math.min(a.length, b.length); k++) if (a[k] === b[k]) same++;
  return {
    agreement: agree / C,
    kl: kl / C,
    nllOrig: C > 1 ? nllO / (C - 1) : 0,
    nllFused: C > 1 ? nllF / (C - 1) : 0,
    exact: a.length === b.length && same === a.length,
    match: same / Math.max(a.length, b.length),
    f1: tokenF1(b, a),
  };
}

const r6 = (x: number): number => Number(x.toPrecision(6));
const ri = (iv: [number, number] | null): [number, number] | null => (iv ? [r6(iv[0]), r6(iv[1])] : null);

/** The fusion profile's accuracy entries of an evaluation. */
export function accuracyEntries(r: FusionEvalResult): AccuracyEntry[] {
  const where = `measured on ${r.model}, ${r.numPrompts} prompts: ${r.mode.toUpperCase()} over batches of ${r.batchSize}, ${r.blockSize}-token blocks, fused layers ${r.fusedLayers.join(',') || 'none'}; 95 % interval over prompts`;
  const out: AccuracyEntry[] = [];
  for (const t of r.thresholds) {
    const add = (metric: string, e: Estimate, how: string): void => {
      out.push({
        threshold: t.threshold,
        metric,
        value: r6(e.value),
        interval: ri(e.interval),
        how: `${where}; ${how}`,
      });
    };
    add(
      'next-token-agreement',
      t.nextTokenAgreement,
      `fraction of the ${r.continuationTokens} teacher-forced continuation positions whose most likely next token is the same with the fused and the original KV cache`,
    );
    add(
      'next-token-kl-nats',
      t.klDivergence,
      `KL(original || fused) of the next-token distribution, nats per position, over the ${r.continuationTokens}-token teacher-forced continuation`,
    );
    if (t.perplexityChange)
      add(
        'perplexity-change',
        t.perplexityChange,
        `relative change of the continuation's perplexity (${r6(t.perplexityOriginal!)} original -> ${r6(t.perplexityFused!)} fused)`,
      );
    add(
      'greedy-exact-match',
      t.greedyExactMatch,
      `fraction of prompts whose ${r.generateTokens}-token greedy generation (to EOS) is identical (Wilson interval)`,
    );
    add('greedy-token-f1', t.greedyTokenF1, `token F1 of the greedy generations, fused vs original`);
    add(
      'greedy-token-match',
      t.greedyTokenMatch,
      `fraction of greedy generation positions with the same token`,
    );
  }
  return out;
}

/**
 * A kvplan-fusion-profile/1 for the evaluated model: points and rate-distortion fit from the
 * prefixes' KV fused as one sample (libs/fusion's profile), `source: model`, and `accuracy` led
 * by the measured metrics, followed by libs/fusion's attention proxies.
 */
export async function modelFusionProfile(
  result: FusionEvalResult,
  fusion: EvalFusionOptions['fusion'] = {},
): Promise<FusionProfile> {
  if (!result.sample)
    throw new Error('modelFusionProfile: the evaluation kept no sample (keepSample: false)');
  const { profile } = await measureFusion(
    result.sample,
    { ...fusion, thresholds: result.thresholds.map((t) => t.threshold) },
    { source: 'model', model: result.model },
  );
  return { ...profile, accuracy: [...result.accuracy, ...(profile.accuracy ?? [])] };
}
