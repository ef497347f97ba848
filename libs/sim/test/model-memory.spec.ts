import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { InputError } from '@kvplan/core';
import { findGpuPreset } from '../src/hardware';
import { GiB, deriveKvCapacity, findModelPreset, type KvCapacityInput } from '../src/model';
import type { GpuSpec, ModelArch } from '../src/types';

const casesFile = path.resolve(
  __dirname,
  '..',
  '..',
  '..',
  '..',
  'shared',
  'data',
  'vllm-measured',
  'cases.jsonl',
);

function model(id: string): ModelArch {
  const m = findModelPreset(id);
  if (!m) throw new Error(id);
  return m;
}
function gpu(id: string): GpuSpec {
  const g = findGpuPreset(id);
  if (!g) throw new Error(id);
  return g;
}
function input(
  m: ModelArch,
  g: GpuSpec,
  tp: number,
  engine: Partial<KvCapacityInput['engine']> = {},
): KvCapacityInput {
  return {
    model: m,
    gpu: g,
    tensorParallel: tp,
    engine: {
      blockSize: 16,
      maxNumSeqs: 128,
      maxNumBatchedTokens: 2048,
      gpuMemoryUtilization: 0.9,
      kvCacheDtype: 'auto',
      weightDtype: m.dtype,
      ...engine,
    },
  };
}

/**
 * KV capacities vLLM measured (`num_gpu_blocks`, 16-token blocks) in the calibration data, with
 * the engine settings of those runs. The 7B runs do not state gpuMemoryUtilization (0.9, vLLM's
 * default, assumed); the 70B and 4090 runs state 0.9.
 */
const MEASURED = [
  {
    id: 'blis-h100-llama2-7b-tp1-general',
    model: 'meta-llama/Llama-2-7b-hf',
    gpu: 'h100-sxm',
    tp: 1,
    seqs: 128,
    blocks: 7462,
  },
  {
    id: 'blis-h100-llama2-70b-tp4-general',
    model: 'meta-llama/Llama-2-70b-hf',
    gpu: 'h100-sxm',
    tp: 4,
    seqs: 128,
    blocks: 31356,
  },
  {
    id: 'lss-rtx4090-llama-3.1-8b',
    model: 'meta-llama/Llama-3.1-8B',
    gpu: 'rtx-4090',
    tp: 1,
    seqs: 256,
    blocks: 2588,
  },
];

/**
 * Tolerance: 5 % of the measured block count. The measurements come from two vLLM versions
 * (0.15.1 and 0.19.0, the later one counting CUDA-graph memory inside the budget), the 7B runs'
 * utilisation is not stated, and vLLM's own logs show non-torch memory varying by 0.1-0.4 GiB
 * between machines: a fixed overhead cannot match all three to better than about 2 %, and 5 %
 * (about 2.9 GiB on the 7B H100, 1.9 GiB on the 70B, 0.25 GiB on the 4090) still catches a wrong
 * weight size, KV layout or TP split, each of which moves the count by 10 % or more.
 */
const TOLERANCE = 0.05;

describe('KV capacity as vLLM V1 sizes it', () => {
  it.each(MEASURED)('$id: within 5 % of the measured $blocks blocks', (c) => {
    const r = deriveKvCapacity(input(model(c.model), gpu(c.gpu), c.tp, { maxNumSeqs: c.seqs }));
    expect(Math.abs(r.numGpuBlocks / c.blocks - 1)).toBeLessThan(TOLERANCE);
    expect(r.forced).toBe(false);
  });

  it('Llama-2-7b on one H100 at 0.9 gives 7,000-8,000 blocks; Llama-2-70b TP4 about 30,000', () => {
    const small = deriveKvCapacity(input(model('meta-llama/Llama-2-7b-hf'), gpu('h100-sxm'), 1)).numGpuBlocks;
    expect(small).toBeGreaterThan(7000);
    expect(small).toBeLessThan(8000);
    const big = deriveKvCapacity(input(model('meta-llama/Llama-2-70b-hf'), gpu('h100-sxm'), 4)).numGpuBlocks;
    expect(big).toBeGreaterThan(28000);
    expect(big).toBeLessThan(33000);
  });

  it('agrees with the measured cases in the shared data when it is present', () => {
    if (!fs.existsSync(casesFile)) return; // data-dependent cross-check only; the numbers above stand alone
    const cases = fs
      .readFileSync(casesFile, 'utf8')
      .split('\n')
      .filter((l) => l.trim())
      .map((l) => JSON.parse(l) as { id: string; engine: { num_gpu_blocks: number | null } });
    for (const c of MEASURED) expect(cases.find((x) => x.id === c.id)?.engine.num_gpu_blocks).toBe(c.blocks);
  });

  it('adds up: weights + activations + overhead + KV fit in the usable memory', () => {
    const r = deriveKvCapacity(input(model('meta-llama/Llama-3.1-8B'), gpu('h100-sxm'), 1));
    const b = r.breakdown;
    expect(b.usableGiB).toBeCloseTo(79.15 * 0.9, 2);
    expect(b.weightsGiB).toBeCloseTo(14.96, 1);
    const sum = b.weightsGiB + b.activationsGiB + b.overheadGiB + b.kvGiB;
    expect(sum).toBeLessThanOrEqual(b.usableGiB + 0.005);
    expect(b.usableGiB - sum).toBeLessThan(b.kvBytesPerBlock / GiB + 0.005); // the floor leaves under one block
    expect(b.kvBytesPerBlock).toBe(2 * 32 * 8 * 128 * 2 * 16);
  });

  it('responds to its inputs in the right direction', () => {
    const m = model('meta-llama/Llama-3.1-8B');
    const g = gpu('h100-sxm');
    const base = deriveKvCapacity(input(m, g, 1)).numGpuBlocks;
    expect(deriveKvCapacity(input(m, g, 1, { gpuMemoryUtilization: 0.8 })).numGpuBlocks).toBeLessThan(base);
    // fp8 KV halves the bytes per block: exactly twice the blocks, less rounding.
    const fp8 = deriveKvCapacity(input(m, g, 1, { kvCacheDtype: 'fp8' })).numGpuBlocks;
    expect(Math.abs(fp8 - 2 * base)).toBeLessThanOrEqual(1);
    expect(deriveKvCapacity(input(m, g, 1, { weightDtype: 'fp8' })).numGpuBlocks).toBeGreaterThan(base);
    expect(deriveKvCapacity(input(m, g, 1, { blockSize: 32 })).numGpuBlocks).toBe(Math.floor(base / 2));
    // TP2 halves the weights and the KV heads per GPU: more than twice the blocks.
    expect(deriveKvCapacity(input(m, g, 2)).numGpuBlocks).toBeGreaterThan(2 * base);
    // Longer batches and more sequences cost activation memory.
    const busy = deriveKvCapacity(input(m, g, 1, { maxNumBatchedTokens: 16384, maxNumSeqs: 1024 }));
    expect(busy.numGpuBlocks).toBeLessThan(base);
    expect(busy.breakdown.activationsGiB).toBeGreaterThan(
      deriveKvCapacity(input(m, g, 1)).breakdown.activationsGiB,
    );
  });

  it('uses a forced numGpuBlocks as is', () => {
    const r = deriveKvCapacity(
      input(model('meta-llama/Llama-2-7b-hf'), gpu('h100-sxm'), 1, { numGpuBlocks: 7462 }),
    );
    expect(r.numGpuBlocks).toBe(7462);
    expect(r.forced).toBe(true);
    expect(r.breakdown.kvGiB).toBeCloseTo((7462 * 8 * 2 ** 20) / GiB, 2);
  });

  it('says how much is needed and available when the weights do not fit', () => {
    try {
      deriveKvCapacity(input(model('meta-llama/Llama-2-70b-hf'), gpu('h100-sxm'), 1));
      expect.unreachable();
    } catch (err) {
      expect(err).toBeInstanceOf(InputError);
      const issue = (err as InputError).issues[0];
      expect(issue.path).toBe('model');
      expect(issue.message).toMatch(/needs 128\.\d\d GiB of weights per GPU, 71\.\d\d GiB available/);
      expect(issue.message).toMatch(/tensorParallel/);
      expect(issue.message).toMatch(/gpu/);
    }
  });

  it('reports when the weights fit but nothing is left for KV', () => {
    // Llama-3.1-8B (14.96 GiB) on an L4 (22.05 GiB) at 0.7 utilisation: 15.4 GiB usable.
    try {
      deriveKvCapacity(input(model('meta-llama/Llama-3.1-8B'), gpu('l4'), 1, { gpuMemoryUtilization: 0.7 }));
      expect.unreachable();
    } catch (err) {
      expect(err).toBeInstanceOf(InputError);
      expect((err as InputError).issues[0].message).toMatch(/no memory left for the KV cache/);
    }
  });
});
