import { describe, expect, it } from 'vitest';
import { Xoshiro128ss } from '@kvplan/core';
import { parametricFusionProfile, FusionModel } from '../src/engine/fusion';
import { simulate } from '../src/engine/simulation';
import type { FusionConfig } from '../src/types';
import { LLAMA_8B, specOf, workloadOf, type Row } from './helpers';

const fusion = (over: Partial<FusionConfig> = {}): FusionConfig => ({
  mode: 'bff',
  threshold: 0.7,
  scope: 'global',
  window: 4,
  sharedReads: false,
  profile: null,
  ...over,
});

function rows(seed: number, n: number, tenants = 0): Row[] {
  const rng = new Xoshiro128ss(seed);
  let t = 0;
  return Array.from({ length: n }, (_, i) => {
    t += rng.exponential(40);
    return { t, in: rng.int(256, 3000), out: rng.int(50, 400), tenant: tenants ? i % tenants : -1 };
  });
}

describe('fusion model arithmetic', () => {
  it('frees more at lower thresholds and with more candidates, nothing without candidates', () => {
    const m = (t: number) => new FusionModel(fusion({ threshold: t }), LLAMA_8B, 16);
    expect(m(0.7).bffFreed(32, 0)).toBe(0);
    expect(m(0.7).bffFreed(32, 2000)).toBeGreaterThan(m(0.7).bffFreed(32, 200));
    expect(m(0.6).bffFreed(32, 2000)).toBeGreaterThan(m(0.8).bffFreed(32, 2000));
    // Never more than the fused layers' share of the blocks.
    const fusedShare = (LLAMA_8B.numLayers - 4) / LLAMA_8B.numLayers;
    expect(m(-1).bffFreed(32, 1e9)).toBeCloseTo(32 * fusedShare, 6);
    expect(parametricFusionProfile(LLAMA_8B, 'bff', 16).fusedLayers).toHaveLength(28);
  });

  it('CFF frees nothing from a prompt shorter than one window', () => {
    const m = new FusionModel(fusion({ mode: 'cff', threshold: 0.6 }), LLAMA_8B, 16);
    expect(m.cffFreed(4 * 32 - 1, 32)).toBe(0);
    expect(m.cffFreed(4 * 32, 32)).toBeGreaterThan(0);
    // A tail shorter than a window adds nothing; two windows free twice one.
    expect(m.cffFreed(4 * 32 + 100, 32)).toBe(m.cffFreed(4 * 32, 32));
    expect(m.cffFreed(8 * 32, 32)).toBeCloseTo(2 * m.cffFreed(4 * 32, 32), 9);
  });
});

describe('fusion in the simulator', () => {
  const tight = { numGpuBlocks: 2500, maxNumSeqs: 256, maxNumBatchedTokens: 2048 };

  it('adds capacity under memory pressure and returns every block at the end (reference counting)', () => {
    const w = workloadOf(rows(5, 1500));
    const plain = simulate(specOf(w, { engine: tight }));
    const fused = simulate(specOf(w, { engine: tight, fusion: fusion({ threshold: 0.65 }) }));
    expect(plain.result.preemptions).toBeGreaterThan(0);
    expect(fused.result.fusion!.blocks_freed).toBeGreaterThan(0);
    expect(fused.result.preemptions).toBeLessThan(plain.result.preemptions);
    expect(fused.result.mean_batch_size).toBeGreaterThan(plain.result.mean_batch_size);
    expect(fused.result.completed).toBe(1500);
    expect(fused.result.total_output_tokens).toBe(plain.result.total_output_tokens);
    expect(fused.leakedBlocks).toEqual([0]);
    expect(plain.leakedBlocks).toEqual([0]);
    expect(fused.result.fusion!.overhead_s).toBeGreaterThan(0);
  });

  it('fuses nothing across tenants with scope tenant when every request is its own tenant', () => {
    const w = workloadOf(rows(6, 400, 400));
    const global = simulate(specOf(w, { engine: tight, fusion: fusion() }));
    const tenant = simulate(specOf(w, { engine: tight, fusion: fusion({ scope: 'tenant' }) }));
    expect(global.result.fusion!.blocks_freed).toBeGreaterThan(0);
    expect(tenant.result.fusion!.blocks_freed).toBe(0);
    expect(tenant.leakedBlocks).toEqual([0]);
  });

  it('frees less at a higher threshold, and nothing when the profile fuses no layer', () => {
    const w = workloadOf(rows(7, 600));
    const at = (t: number) =>
      simulate(specOf(w, { engine: tight, fusion: fusion({ threshold: t }) })).result.fusion!;
    expect(at(0.6).blocks_freed).toBeGreaterThan(at(0.7).blocks_freed);
    const none = { ...parametricFusionProfile(LLAMA_8B, 'bff', 16), fusedLayers: [], rateDistortion: null };
    const r = simulate(specOf(w, { engine: tight, fusion: fusion({ threshold: 0.6, profile: none }) }));
    expect(r.result.fusion!.blocks_freed).toBe(0);
  });

  it('CFF frees blocks within long prompts only', () => {
    const long = workloadOf(rows(8, 200).map((r) => ({ ...r, in: 9000 })));
    const short = workloadOf(rows(8, 200).map((r) => ({ ...r, in: 1000 })));
    const cff = fusion({ mode: 'cff', threshold: 0.6 });
    const engine = { numGpuBlocks: 20000, maxNumBatchedTokens: 512, maxModelLen: 16384 };
    expect(simulate(specOf(long, { engine, fusion: cff })).result.fusion!.blocks_freed).toBeGreaterThan(0);
    expect(simulate(specOf(short, { engine, fusion: cff })).result.fusion!.blocks_freed).toBe(0);
  });
});

describe('capped rate-distortion layers', () => {
  it('never fuses more than the cap of a layer, however many candidates', () => {
    const profile = parametricFusionProfile(LLAMA_8B, 'bff', 16);
    const capped = {
      ...profile,
      rateDistortion: {
        ...profile.rateDistortion!,
        layers: profile.rateDistortion!.layers.map((l) => ({ ...l, cap: 0.3 })),
      },
    };
    const m = new FusionModel(fusion({ threshold: 0.6, profile: capped }), LLAMA_8B, 16);
    expect(m.bffFreed(32, 1e9)).toBeCloseTo((32 * 0.3 * 28) / 32, 6);
    expect(m.bffFreed(32, 100)).toBeLessThan(
      new FusionModel(fusion({ threshold: 0.6 }), LLAMA_8B, 16).bffFreed(32, 100),
    );
  });
});
