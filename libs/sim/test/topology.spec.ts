import { InputError } from '@kvplan/core';
import { describe, expect, it } from 'vitest';
import { Collectives, topologyCollectiveTime } from '../src/hardware/collectives';
import { findGpuPreset } from '../src/hardware/gpus';
import { allReduceCurve, MEASURED_KERNEL_CURVES } from '../src/hardware/kernel-curves';
import { defaultTopology, FABRICS, type Topology } from '../src/hardware/topology';
import { resolveSimulationSpec } from '../src/simulation-spec';

const MiB = 1 << 20;
const preset = (id: string) => {
  const g = findGpuPreset(id);
  if (!g) throw new Error(id);
  return g;
};
const nvlink4: Topology = defaultTopology(preset('h100-sxm'));
const pcie4: Topology = defaultTopology(preset('l40s'));

describe('GPU presets carry their fabric', () => {
  it('NVLink generations on SXM parts, PCIe generations elsewhere, 8 GPUs a node', () => {
    expect(preset('a100-80gb').fabric).toBe('nvlink3');
    expect(preset('h100-sxm').fabric).toBe('nvlink4');
    expect(preset('h200').fabric).toBe('nvlink4');
    expect(preset('b200').fabric).toBe('nvlink5');
    expect(preset('h100-pcie').fabric).toBe('pcie5');
    expect(preset('rtx-pro-6000').fabric).toBe('pcie5');
    expect(preset('l40s').fabric).toBe('pcie4');
    for (const id of ['h100-sxm', 'l4', 'rtx-4090']) expect(preset(id).gpusPerNode).toBe(8);
    // The preset's link is its fabric's datasheet figure.
    expect(preset('h100-sxm').interconnectGBps).toBe(FABRICS.nvlink4.linkGBps);
    expect(preset('h100-pcie').interconnectGBps).toBe(FABRICS.pcie5.linkGBps);
  });
});

describe('collectives from the topology (hand-computed)', () => {
  // NVLink 4: 900 GB/s both ways = 450e9 B/s each way at 0.75 = 337.5e9, 2 µs a step.
  // PCIe Gen4 x16: 64 GB/s both ways = 32e9 each way at 0.25 = 8e9, 4 µs a step.
  const NV = 337.5e9;
  const PCIE = 8e9;

  it('all-reduce of 1 MiB over 2 GPUs: NVLink 4 against PCIe Gen4', () => {
    // Ring, n = 2: 2 steps and 2 x (1/2) x 1 MiB moved: 4 µs + 1048576 / 337.5e9 s = 7.107 µs.
    expect(topologyCollectiveTime('allReduce', MiB, 2, nvlink4)).toBeCloseTo(4e-6 + MiB / NV, 12);
    // PCIe: 8 µs + 1048576 / 8e9 s = 139.07 µs, 19.6 times NVLink's.
    expect(topologyCollectiveTime('allReduce', MiB, 2, pcie4)).toBeCloseTo(8e-6 + 131.072e-6, 12);
    expect(
      topologyCollectiveTime('allReduce', MiB, 2, pcie4) /
        topologyCollectiveTime('allReduce', MiB, 2, nvlink4),
    ).toBeCloseTo(19.57, 2);
  });

  it('8 GPUs: ring for large messages, one-shot on NVLink for small ones, tree on PCIe', () => {
    // 64 MiB: ring 14 x 2 µs + 2 x 7/8 x 64 MiB / 337.5e9 = 28 + 347.97 µs; tree 12 + 397.68 µs.
    expect(topologyCollectiveTime('allReduce', 64 * MiB, 8, nvlink4)).toBeCloseTo(
      28e-6 + (1.75 * 64 * MiB) / NV,
      12,
    );
    // 4 KiB: one-shot 2 x 2 µs + 7 x 4096 / 337.5e9 = 4.085 µs beats the tree's 12.02 µs.
    expect(topologyCollectiveTime('allReduce', 4096, 8, nvlink4)).toBeCloseTo(4e-6 + (7 * 4096) / NV, 12);
    // Over PCIe no one-shot: tree 3 x 2 x 4 µs + 2 x 4096 / 8e9 = 25.02 µs (ring: 56.9 µs).
    expect(topologyCollectiveTime('allReduce', 4096, 8, pcie4)).toBeCloseTo(24e-6 + 8192 / PCIE, 12);
  });

  it('all-gather and all-to-all move (n-1)/n of the buffer in n-1 steps', () => {
    expect(topologyCollectiveTime('allToAll', MiB, 8, nvlink4)).toBeCloseTo(14e-6 + (0.875 * MiB) / NV, 12);
    expect(topologyCollectiveTime('allGather', MiB, 4, pcie4)).toBeCloseTo(12e-6 + (0.75 * MiB) / PCIE, 12);
    expect(topologyCollectiveTime('allToAll', MiB, 1, nvlink4)).toBe(0);
  });

  it('across nodes: hierarchical all-reduce and all-to-all through the NIC', () => {
    // 16 H100s on 2 nodes of 8, 64 MiB: reduce-scatter and all-gather in the node
    // (2 x (7 x 2 µs + 7/8 x 64 MiB / 337.5e9)) plus a 2-node ring all-reduce of 8 MiB over
    // 50e9 B/s with 5 µs steps (2 x 5 µs + 8 MiB / 50e9).
    const S = 64 * MiB;
    const inNode = 2 * (14e-6 + (0.875 * S) / NV);
    const network = 10e-6 + S / 8 / 50e9;
    expect(topologyCollectiveTime('allReduce', S, 16, nvlink4)).toBeCloseTo(inNode + network, 12);
    // All-to-all: 7/16 of the buffer over NVLink and 8/16 through the NIC at once.
    expect(topologyCollectiveTime('allToAll', S, 16, nvlink4)).toBeCloseTo(
      7 * 2e-6 + 5e-6 + (0.5 * S) / 50e9,
      12,
    );
  });
});

describe('measured curves where the kernel data has them', () => {
  it('H100 SXM inside a node: the measured all-reduce curve; PCIe H100 (measured sibling on NVLink): the topology', () => {
    const h100 = preset('h100-sxm');
    const c = new Collectives(h100, defaultTopology(h100));
    expect(c.source(2)).toBe('measured');
    const curve = allReduceCurve(MEASURED_KERNEL_CURVES.get('h100-sxm')!, 2)!;
    // Same ring bytes as the kernel fit: 2 (n-1)/n x message over the link at the curve's fraction.
    const frac = curve.mem[curve.log2x.indexOf(20)];
    expect(c.time('allReduce', MiB, 2)).toBeCloseTo(curve.launchS + MiB / (900e9 * frac), 12);
    expect(c.source(16)).toBe('topology');

    const pcie = preset('h100-pcie');
    expect(new Collectives(pcie, defaultTopology(pcie)).source(2)).toBe('topology');
    expect(new Collectives(h100, { ...defaultTopology(h100), collectives: 'topology' }).source(2)).toBe(
      'topology',
    );
    // Overriding the SXM part's fabric with PCIe drops the NVLink measurements.
    expect(
      new Collectives(h100, { ...defaultTopology(h100), fabric: 'pcie5', linkGBps: 128 }).source(2),
    ).toBe('topology');
  });

  it('RTX PRO 6000 (measured on PCIe): the measured curve, slower than NVLink at the same size', () => {
    const pro = preset('rtx-pro-6000');
    const c = new Collectives(pro, defaultTopology(pro));
    expect(c.source(2)).toBe('measured');
    const h100 = preset('h100-sxm');
    expect(c.time('allReduce', MiB, 2)).toBeGreaterThan(
      5 * new Collectives(h100, defaultTopology(h100)).time('allReduce', MiB, 2),
    );
  });
});

describe('the spec topology', () => {
  const base = {
    model: 'meta-llama/Llama-3.1-8B',
    gpu: 'h100-sxm',
    workload: {
      arrival: { rate: 5 },
      numRequests: 5,
      inputTokens: { fixed: 100 },
      outputTokens: { fixed: 10 },
    },
  };
  const issues = (spec: unknown) => {
    try {
      resolveSimulationSpec(spec, { baseDir: '.' });
    } catch (err) {
      if (err instanceof InputError) return err.issues;
      throw err;
    }
    return [];
  };

  it('defaults to the preset and takes overrides inline', () => {
    const d = resolveSimulationSpec(base, { baseDir: '.' });
    expect(d.topology).toEqual({ ...defaultTopology(preset('h100-sxm')) });
    const o = resolveSimulationSpec(
      { ...base, topology: { fabric: 'PCIe-Gen5', gpusPerNode: 4, nodes: 2, networkGBps: 25 } },
      { baseDir: '.' },
    );
    expect(o.topology).toMatchObject({
      fabric: 'pcie5',
      linkGBps: 128,
      linkLatencyUs: 4,
      linkEfficiency: 0.25,
      gpusPerNode: 4,
      nodes: 2,
      networkGBps: 25,
    });
  });

  it('names the field of an unknown fabric, a bad number and GPUs beyond the topology', () => {
    expect(issues({ ...base, topology: { fabric: 'infinity-fabric' } })).toEqual([
      expect.objectContaining({ path: 'topology.fabric', message: expect.stringContaining('nvlink4') }),
    ]);
    expect(issues({ ...base, topology: { linkGBps: 0, gpusPerNode: 1.5 } }).map((i) => i.path)).toEqual([
      'topology.linkGBps',
      'topology.gpusPerNode',
    ]);
    expect(issues({ ...base, tensorParallel: 8, topology: { gpusPerNode: 4, nodes: 1 } })).toEqual([
      expect.objectContaining({ path: 'tensorParallel', message: expect.stringContaining("topology's 4") }),
    ]);
    expect(
      issues({
        ...base,
        gpu: { name: 'x', memoryGiB: 80, memoryBandwidthGBps: 2000, bf16Tflops: 500, fabric: 'pcie9' },
      }),
    ).toEqual([expect.objectContaining({ path: 'gpu.fabric' })]);
  });
});
