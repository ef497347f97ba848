import type { KvDtype } from './dtype';
import { IssueCollector } from '@kvplan/core';
import type { KvLayer, KvSampleInfo, KvSource } from './kv-types';
import { Sfc32 } from '@kvplan/core';
import { applyRope, ropeInverseFrequencies } from './rope';

/**
 * Structure of a synthetic KV sample. Every block vector (blockSize x numKvHeads x headDim) is a
 * sum of: a layer-wide mean direction; for the blocks of a sequence's template region, the
 * template's block at that slot (templates are shared across requests, like system prompts and
 * few-shot scaffolds), else content unique to the block; the sequence's topic direction; a
 * position drift (a slow rotation between two directions, so one template slot seen at different
 * positions is similar, not identical); and noise that grows with depth. A fraction of blocks
 * are near-duplicates of the same block of an earlier sequence. Values are built the same way
 * from their own directions, with more noise.
 */
export interface SynthOptions {
  numSeqs: number;
  /** Blocks per sequence (the tensors' maxBlocks). */
  blocksPerSeq: number;
  numLayers: number;
  blockSize: number;
  numKvHeads: number;
  headDim: number;
  /** Query vectors per sequence written as `layers.<l>.query` (0: none). */
  numQueries: number;
  /** Query heads (a multiple of numKvHeads); default 4 x numKvHeads. */
  numHeads: number | null;
  numTemplates: number;
  /** Mean fraction of a sequence's blocks taken from its template. */
  templateFraction: number;
  numTopics: number;
  /** A templated block's template weight is uniform in [minFidelity, 1] (the rest is its own content). */
  minFidelity: number;
  nearDuplicateRate: number;
  /** Per-element noise scale (relative to the template component, 1.0). */
  noise: number;
  /** Position-drift scale. */
  drift: number;
  /** Tokens per radian of the position drift. */
  driftPeriodTokens: number;
  /** 1: no tenants in the metadata; k > 1: sequences assigned to tenants t0..t(k-1). */
  tenants: number;
  /** `full`: every sequence fills its blocks; `ragged`: lengths between 60 % and 100 %, with partial tails. */
  lengths: 'full' | 'ragged';
  /** Apply RoPE with this theta to keys and queries (metadata rope=applied); null: no RoPE (rope=removed). */
  ropeTheta: number | null;
  model: string | null;
  dtype: KvDtype;
  seed: number;
}

export const DEFAULT_SYNTH_OPTIONS: SynthOptions = {
  numSeqs: 16,
  blocksPerSeq: 32,
  numLayers: 8,
  blockSize: 16,
  numKvHeads: 8,
  headDim: 128,
  numQueries: 0,
  numHeads: null,
  numTemplates: 4,
  templateFraction: 0.7,
  numTopics: 8,
  minFidelity: 0.7,
  nearDuplicateRate: 0.05,
  noise: 0.35,
  drift: 0.3,
  driftPeriodTokens: 512,
  tenants: 1,
  lengths: 'full',
  ropeTheta: null,
  model: null,
  dtype: 'F32',
  seed: 1,
};

/** Validates synthetic-sample options; returns every issue (paths `synth.<field>`). */
export function validateSynthOptions(o: SynthOptions): IssueCollector {
  const c = new IssueCollector();
  const posInt = (k: keyof SynthOptions, v: number): void => {
    if (!Number.isInteger(v) || v <= 0) c.add(`synth.${k}`, `expected a positive integer, got ${v}`);
  };
  posInt('numSeqs', o.numSeqs);
  posInt('blocksPerSeq', o.blocksPerSeq);
  posInt('numLayers', o.numLayers);
  posInt('blockSize', o.blockSize);
  posInt('numKvHeads', o.numKvHeads);
  posInt('headDim', o.headDim);
  posInt('numTemplates', o.numTemplates);
  posInt('numTopics', o.numTopics);
  posInt('tenants', o.tenants);
  if (o.headDim % 2 !== 0 && o.ropeTheta !== null) c.add('synth.headDim', 'must be even to apply RoPE');
  if (!Number.isInteger(o.numQueries) || o.numQueries < 0)
    c.add('synth.numQueries', `expected an integer >= 0, got ${o.numQueries}`);
  if (
    o.numHeads !== null &&
    (!Number.isInteger(o.numHeads) || o.numHeads <= 0 || o.numHeads % o.numKvHeads !== 0)
  ) {
    c.add(
      'synth.numHeads',
      `expected a positive multiple of numKvHeads (${o.numKvHeads}), got ${o.numHeads}`,
    );
  }
  for (const k of ['templateFraction', 'nearDuplicateRate', 'minFidelity'] as const) {
    if (!(o[k] >= 0 && o[k] <= 1)) c.add(`synth.${k}`, `expected a number in [0, 1], got ${o[k]}`);
  }
  for (const k of ['noise', 'drift'] as const)
    if (!(o[k] >= 0) || !Number.isFinite(o[k])) c.add(`synth.${k}`, `expected a number >= 0, got ${o[k]}`);
  if (!(o.driftPeriodTokens > 0))
    c.add('synth.driftPeriodTokens', `expected a number > 0, got ${o.driftPeriodTokens}`);
  if (o.ropeTheta !== null && !(o.ropeTheta > 0))
    c.add('synth.ropeTheta', `expected a number > 0 or null, got ${o.ropeTheta}`);
  if (o.lengths !== 'full' && o.lengths !== 'ragged')
    c.add('synth.lengths', `expected full or ragged, got ${String(o.lengths)}`);
  if (!['F32', 'F16', 'BF16'].includes(o.dtype))
    c.add('synth.dtype', `expected F32, F16 or BF16, got ${String(o.dtype)}`);
  if (!Number.isInteger(o.seed)) c.add('synth.seed', `expected an integer, got ${o.seed}`);
  return c;
}

interface SeqPlan {
  template: number;
  topic: number;
  /** Blocks [0, templateBlocks) follow the template, shifted by offset slots. */
  templateBlocks: number;
  offset: number;
  /** Per block: index of the earlier sequence it nearly duplicates, or -1. */
  dupOf: Int32Array;
  /** Per block norm scale. */
  scale: Float32Array;
  /** Per block weight of the template in a templated block. */
  fidelity: Float32Array;
}

/**
 * A synthetic KV sample generated layer by layer on demand (deterministic in the seed and the
 * layer, so layers can be regenerated in any order without holding the whole sample).
 */
export class SyntheticKvSample implements KvSource {
  readonly info: KvSampleInfo;
  readonly options: SynthOptions;
  private readonly plans: SeqPlan[];

  constructor(options: Partial<SynthOptions> = {}) {
    const o: SynthOptions = { ...DEFAULT_SYNTH_OPTIONS, ...options };
    validateSynthOptions(o).throwIfAny();
    this.options = o;
    const rng = new Sfc32(o.seed);
    const maxTokens = o.blocksPerSeq * o.blockSize;
    const seqLens: number[] = [];
    const tenants: string[] = [];
    this.plans = [];
    for (let i = 0; i < o.numSeqs; i++) {
      const len =
        o.lengths === 'full' ? maxTokens : Math.max(1, Math.round(maxTokens * (0.6 + 0.4 * rng.next())));
      seqLens.push(len);
      tenants.push(`t${rng.int(0, o.tenants - 1)}`);
      const tf = Math.min(1, Math.max(0, o.templateFraction * (0.5 + rng.next())));
      const dupOf = new Int32Array(o.blocksPerSeq).fill(-1);
      const scale = new Float32Array(o.blocksPerSeq);
      const fidelity = new Float32Array(o.blocksPerSeq);
      for (let j = 0; j < o.blocksPerSeq; j++) {
        if (i > 0 && rng.next() < o.nearDuplicateRate) dupOf[j] = rng.int(0, i - 1);
        scale[j] = Math.exp(0.2 * rng.normal());
        fidelity[j] = o.minFidelity + (1 - o.minFidelity) * rng.next();
      }
      this.plans.push({
        template: rng.int(0, o.numTemplates - 1),
        topic: rng.int(0, o.numTopics - 1),
        templateBlocks: Math.round(tf * o.blocksPerSeq),
        offset: rng.int(0, 2),
        dupOf,
        scale,
        fidelity,
      });
    }
    const numHeads = o.numQueries > 0 ? (o.numHeads ?? 4 * o.numKvHeads) : null;
    this.info = {
      file: null,
      numSeqs: o.numSeqs,
      numLayers: o.numLayers,
      maxBlocks: o.blocksPerSeq,
      blockSize: o.blockSize,
      numKvHeads: o.numKvHeads,
      headDim: o.headDim,
      numQueries: o.numQueries,
      numHeads,
      dtype: o.dtype,
      seqLens,
      tenants: o.tenants > 1 ? tenants : null,
      model: o.model,
      rope:
        o.ropeTheta !== null
          ? { state: 'applied', theta: o.ropeTheta, scaling: null }
          : { state: 'removed', theta: null, scaling: null },
      positions: seqLens.map(() => 0),
      queryPositions:
        o.numQueries > 0
          ? seqLens.map((n) =>
              Array.from({ length: o.numQueries }, (_, r) => Math.max(0, n - o.numQueries + r)),
            )
          : null,
      synthetic: true,
    };
  }

  readLayer(layer: number): KvLayer {
    const o = this.options;
    if (!Number.isInteger(layer) || layer < 0 || layer >= o.numLayers)
      throw new RangeError(`layer ${layer} out of range`);
    const key = this.generate(layer, 0);
    const value = this.generate(layer, 1);
    let query: Float32Array | null = null;
    if (o.numQueries > 0) query = this.queries(layer, key);
    if (o.ropeTheta !== null) {
      const inv = ropeInverseFrequencies(o.headDim, o.ropeTheta, null);
      applyRope(key, this.info, inv, 1);
      if (query) applyQueryRope(query, this.info, inv);
    }
    return { layer, key, value, query };
  }

  /** kind 0: keys, 1: values. */
  private generate(layer: number, kind: number): Float32Array {
    const o = this.options;
    const D = o.blockSize * o.numKvHeads * o.headDim;
    const rng = new Sfc32((o.seed * 1000003 + layer * 7919 + kind * 104729) | 0);
    const depth = o.numLayers > 1 ? layer / (o.numLayers - 1) : 0;
    const noise = o.noise * (0.6 + depth) * (kind === 1 ? 1.3 : 1);
    const aMean = 0.5;
    const aTopic = 0.5;
    const slots = o.blocksPerSeq + 3;
    const base = (scale: number): Float32Array => {
      const v = new Float32Array(D);
      rng.addNormal(v, scale);
      return v;
    };
    const mean = base(aMean);
    const driftA = base(o.drift);
    const driftB = base(o.drift);
    const topics = Array.from({ length: o.numTopics }, () => base(aTopic));
    const templates: Float32Array[][] = [];
    for (let t = 0; t < o.numTemplates; t++) templates.push(Array.from({ length: slots }, () => base(1)));
    const out = new Float32Array(o.numSeqs * o.blocksPerSeq * D);
    const tokenDim = o.numKvHeads * o.headDim;
    for (let i = 0; i < o.numSeqs; i++) {
      const plan = this.plans[i];
      const len = this.info.seqLens[i];
      for (let j = 0; j < o.blocksPerSeq; j++) {
        const off = (i * o.blocksPerSeq + j) * D;
        if (j * o.blockSize >= len) continue;
        if (plan.dupOf[j] >= 0) {
          const src = (plan.dupOf[j] * o.blocksPerSeq + j) * D;
          out.copyWithin(off, src, src + D);
          rng.addTableNoise(out, 1e-3, off, D);
        } else {
          const templated = j < plan.templateBlocks;
          // A templated block is fidelity x the template's block plus sqrt(1 - fidelity^2) x
          // content of its own (unit scale either way). Own content and noise are both i.i.d.:
          // one draw with the combined scale.
          const fid = templated ? plan.fidelity[j] : 0;
          rng.addTableNoise(out, Math.sqrt(1 - fid * fid + noise * noise), off, D);
          const tpl = templated ? templates[plan.template][j + plan.offset] : null;
          const topic = topics[plan.topic];
          const angle = ((j + plan.offset) * o.blockSize) / o.driftPeriodTokens;
          const ca = Math.cos(angle);
          const sa = Math.sin(angle);
          for (let d = 0; d < D; d++) {
            out[off + d] += mean[d] + topic[d] + ca * driftA[d] + sa * driftB[d] + (tpl ? fid * tpl[d] : 0);
          }
          const s = plan.scale[j];
          for (let d = 0; d < D; d++) out[off + d] *= s;
        }
        const valid = len - j * o.blockSize;
        if (valid < o.blockSize) out.fill(0, off + valid * tokenDim, off + D);
      }
    }
    return out;
  }

  /** Queries: a real key token of the sequence per KV head group, plus noise. */
  private queries(layer: number, key: Float32Array): Float32Array {
    const o = this.options;
    const H = o.numKvHeads;
    const hd = o.headDim;
    const Hq = this.info.numHeads!;
    const g = Hq / H;
    const rng = new Sfc32((o.seed * 31 + layer * 131 + 17) | 0);
    const q = new Float32Array(o.numSeqs * o.numQueries * Hq * hd);
    for (let i = 0; i < o.numSeqs; i++) {
      const len = this.info.seqLens[i];
      for (let r = 0; r < o.numQueries; r++) {
        for (let hq = 0; hq < Hq; hq++) {
          const h = Math.floor(hq / g);
          const tok = rng.int(0, len - 1);
          const src =
            ((i * o.blocksPerSeq + Math.floor(tok / o.blockSize)) * o.blockSize + (tok % o.blockSize)) *
              H *
              hd +
            h * hd;
          const dst = ((i * o.numQueries + r) * Hq + hq) * hd;
          for (let d = 0; d < hd; d++) q[dst + d] = 0.5 * key[src + d] + 0.5 * rng.normal();
        }
      }
    }
    return q;
  }
}

function applyQueryRope(query: Float32Array, info: KvSampleInfo, inv: Float64Array): void {
  const hd = info.headDim;
  const Hq = info.numHeads!;
  const half = hd / 2;
  for (let i = 0; i < info.numSeqs; i++) {
    for (let r = 0; r < info.numQueries; r++) {
      const p = info.queryPositions![i][r];
      for (let hq = 0; hq < Hq; hq++) {
        const o = ((i * info.numQueries + r) * Hq + hq) * hd;
        for (let k = 0; k < half; k++) {
          const a = p * inv[k];
          const c = Math.cos(a);
          const s = Math.sin(a);
          const x = query[o + k];
          const y = query[o + k + half];
          query[o + k] = x * c - y * s;
          query[o + k + half] = y * c + x * s;
        }
      }
    }
  }
}

/** A synthetic sample with the given structure (defaults: DEFAULT_SYNTH_OPTIONS). */
export function synthesizeKvSample(options: Partial<SynthOptions> = {}): SyntheticKvSample {
  return new SyntheticKvSample(options);
}
