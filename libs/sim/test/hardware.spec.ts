import { describe, expect, it } from 'vitest';
import { InputError } from '@kvplan/core';
import { findGpuPreset, listGpuPresets, matchGpuName, resolveGpu } from '../src/hardware';

const ctx = { baseDir: '.', path: 'gpu' };

describe('GPU presets', () => {
  it('has every preset id with sane datasheet numbers', () => {
    const ids = listGpuPresets().map((g) => g.id);
    expect(ids.sort()).toEqual(
      [
        'a100-40gb',
        'a100-80gb',
        'h100-sxm',
        'h100-pcie',
        'h200',
        'b200',
        'l40s',
        'l4',
        'rtx-4090',
        'rtx-pro-6000',
      ].sort(),
    );
    for (const g of listGpuPresets()) {
      // Usable GiB sits a little under the datasheet GB (1 GB = 0.931 GiB).
      expect(g.memoryGiB).toBeGreaterThan(20);
      expect(g.fp8Tflops).toBeGreaterThanOrEqual(g.bf16Tflops);
      // Dense FP8 is about twice dense BF16 at most (L40S: 733 / 362.05 from its datasheet); a
      // sparsity figure for one and not the other would break this.
      expect(g.fp8Tflops).toBeLessThanOrEqual(2.05 * g.bf16Tflops);
      expect(g.interconnectGBps).toBeGreaterThan(0);
    }
  });

  it('quotes dense, not sparse, tensor throughput', () => {
    expect(findGpuPreset('h100-sxm')).toMatchObject({
      bf16Tflops: 989.5,
      fp8Tflops: 1979,
      memoryBandwidthGBps: 3352,
      interconnectGBps: 900,
    });
    expect(findGpuPreset('a100-80gb')?.fp8Tflops).toBe(312); // no FP8 on Ampere: the BF16 rate
    expect(findGpuPreset('h100-pcie')?.interconnectGBps).toBe(128); // PCIe Gen5, not NVLink
  });

  it.each([
    ['NVIDIA H100 80GB HBM3 (SXM)', 'h100-sxm'],
    ['NVIDIA H100 PCIe', 'h100-pcie'],
    ['NVIDIA RTX PRO 6000 Blackwell (96 GB GDDR7, 1597 GB/s per LLMServingSim config)', 'rtx-pro-6000'],
    ['RTX PRO 6000 Blackwell', 'rtx-pro-6000'],
    ['RTX 4090', 'rtx-4090'],
    ['NVIDIA GeForce RTX 4090 (24 GB, compute capability 8.9)', 'rtx-4090'],
    ['A100-SXM4-80GB', 'a100-80gb'],
    ['NVIDIA A100 40GB', 'a100-40gb'],
    ['NVIDIA L40S', 'l40s'],
    ['NVIDIA L4', 'l4'],
    ['H200', 'h200'],
    ['B200', 'b200'],
    ['h100-sxm', 'h100-sxm'],
  ])('matches %s to %s', (name, id) => {
    expect(matchGpuName(name)).toBe(id);
  });

  it.each(['A100', 'NVIDIA L40', 'H100 NVL', 'MI300X', 'RTX 3090'])('does not guess for %s', (name) => {
    expect(matchGpuName(name)).toBeNull();
  });

  it('resolves ids case-insensitively and loose names', () => {
    expect(resolveGpu('H100-SXM', ctx).id).toBe('h100-sxm');
    expect(resolveGpu('NVIDIA H100 80GB HBM3 (SXM)', ctx).id).toBe('h100-sxm');
  });

  it('accepts an inline GPU, defaulting fp8 to bf16 and the link to PCIe Gen4', () => {
    const g = resolveGpu(
      { name: 'My Card 48G', memoryGiB: 44, memoryBandwidthGBps: 900, bf16Tflops: 200 },
      ctx,
    );
    expect(g).toEqual({
      id: 'my-card-48g',
      name: 'My Card 48G',
      memoryGiB: 44,
      memoryBandwidthGBps: 900,
      bf16Tflops: 200,
      fp8Tflops: 200,
      interconnectGBps: 64,
      fabric: 'pcie4',
      gpusPerNode: 8,
    });
    // A fabric brings its own link bandwidth unless one is given.
    const nv = resolveGpu(
      { name: 'x', memoryGiB: 80, memoryBandwidthGBps: 3000, bf16Tflops: 900, fabric: 'nvlink5' },
      ctx,
    );
    expect([nv.fabric, nv.interconnectGBps]).toEqual(['nvlink5', 1800]);
  });

  it('reports every problem of an inline GPU and unknown names', () => {
    try {
      resolveGpu({ name: '', memoryGiB: -1, bf16Tflops: 'fast', memoryBandwidth: 3 }, ctx);
      expect.unreachable();
    } catch (err) {
      expect(err).toBeInstanceOf(InputError);
      const paths = (err as InputError).issues.map((i) => i.path).sort();
      expect(paths).toEqual(
        [
          'gpu.bf16Tflops',
          'gpu.memoryBandwidth',
          'gpu.memoryBandwidthGBps',
          'gpu.memoryGiB',
          'gpu.name',
        ].sort(),
      );
    }
    expect(() => resolveGpu('tpu-v5', ctx)).toThrow(/presets: a100-40gb/);
    expect(() => resolveGpu(7, ctx)).toThrow(InputError);
  });
});
