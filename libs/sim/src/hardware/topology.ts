import { checkKeys, IssueCollector, num, optEnum, optSection, show } from '@kvplan/core';
import type { FabricId, GpuSpec } from '../types';

export type { FabricId } from '../types';

/**
 * The fabric a GPU talks to its peers over, and the network between nodes: what collectives are
 * costed from (collectives.ts). Each GPU preset names its fabric; a spec's `topology` overrides
 * any part of it.
 */

export interface FabricInfo {
  kind: 'nvlink' | 'pcie';
  /** Per-GPU bandwidth, both directions together (the datasheet figure), GB/s. */
  linkGBps: number;
  /** Latency of one step of a collective over it (one hop, launch and synchronisation), µs. */
  latencyUs: number;
  /** Fraction of the per-direction bandwidth collectives reach on large messages. */
  efficiency: number;
  description: string;
}

/**
 * Datasheet bandwidths. Latencies and efficiencies come from the measured all-reduce kernels
 * (libs/sim/data/kernels, not the serving runs): the smallest all-reduce of two GPUs takes about
 * 4 µs over NVLink (H100, H200, A100) and 9 µs over PCIe (RTX PRO 6000), two steps of 2 and
 * 4 µs; on large messages NVLink parts reach 0.6-0.8 of the per-direction bandwidth as ring bus
 * bandwidth (0.75 taken), PCIe parts 0.06-0.6 (0.25, the Gen5 two-GPU figure, taken).
 */
export const FABRICS: Readonly<Record<FabricId, FabricInfo>> = {
  nvlink3: {
    kind: 'nvlink',
    linkGBps: 600,
    latencyUs: 2,
    efficiency: 0.75,
    description: 'NVLink 3 (A100), 12 links',
  },
  nvlink4: {
    kind: 'nvlink',
    linkGBps: 900,
    latencyUs: 2,
    efficiency: 0.75,
    description: 'NVLink 4 (H100, H200), 18 links',
  },
  nvlink5: {
    kind: 'nvlink',
    linkGBps: 1800,
    latencyUs: 2,
    efficiency: 0.75,
    description: 'NVLink 5 (B200), 18 links',
  },
  pcie4: { kind: 'pcie', linkGBps: 64, latencyUs: 4, efficiency: 0.25, description: 'PCIe Gen4 x16' },
  pcie5: { kind: 'pcie', linkGBps: 128, latencyUs: 4, efficiency: 0.25, description: 'PCIe Gen5 x16' },
  pcie6: { kind: 'pcie', linkGBps: 256, latencyUs: 4, efficiency: 0.25, description: 'PCIe Gen6 x16' },
};

export const FABRIC_IDS = Object.keys(FABRICS) as FabricId[];

/** A GPU's place in its servers: the resolved `topology`. */
export interface Topology {
  fabric: FabricId;
  /** Per-GPU bandwidth of the fabric inside a node, both directions together, GB/s. */
  linkGBps: number;
  /** One step of a collective inside a node, µs. */
  linkLatencyUs: number;
  /** Fraction of the per-direction link bandwidth collectives reach. */
  linkEfficiency: number;
  /** GPUs one node holds (a collective over more crosses the network). */
  gpusPerNode: number;
  /** Nodes available; null: as many as the deployment needs. */
  nodes: number | null;
  /** Per-GPU network bandwidth between nodes, one direction, GB/s (400 Gb/s InfiniBand: 50). */
  networkGBps: number;
  /** One step of a collective across nodes, µs. */
  networkLatencyUs: number;
  /** `auto`: measured all-reduce curves where the kernel data has them; `topology`: always the topology. */
  collectives: 'auto' | 'topology';
}

/** Default inter-node network: one 400 Gb/s NIC per GPU (InfiniBand NDR or RoCE), 5 µs a step. */
export const DEFAULT_NETWORK = { networkGBps: 50, networkLatencyUs: 5 } as const;

/** The preset topology of a GPU: its fabric at its own link bandwidth, 8 GPUs a node. */
export function defaultTopology(gpu: GpuSpec): Topology {
  const f = FABRICS[gpu.fabric];
  return {
    fabric: gpu.fabric,
    linkGBps: gpu.interconnectGBps,
    linkLatencyUs: f.latencyUs,
    linkEfficiency: f.efficiency,
    gpusPerNode: gpu.gpusPerNode,
    nodes: null,
    collectives: 'auto',
    ...DEFAULT_NETWORK,
    ...(gpu.fabric === 'nvlink5' ? { networkGBps: 100 } : {}),
  };
}

export const TOPOLOGY_KEYS = [
  'fabric',
  'linkGBps',
  'linkLatencyUs',
  'linkEfficiency',
  'gpusPerNode',
  'nodes',
  'networkGBps',
  'networkLatencyUs',
  'collectives',
] as const;

/** A fabric id from a loosely written name (`NVLink4`, `pcie-5`), or null. */
export function parseFabric(v: unknown): FabricId | null {
  if (typeof v !== 'string') return null;
  const s = v
    .toLowerCase()
    .replace(/[\s_-]/g, '')
    .replace(/gen/, '');
  return (FABRIC_IDS as string[]).includes(s) ? (s as FabricId) : null;
}

/**
 * `topology`: the GPU's preset fabric with any of TOPOLOGY_KEYS overridden. A new `fabric`
 * brings its own link bandwidth and latency unless those are given too. Null after reporting.
 */
export function resolveTopologyInto(
  raw: unknown,
  gpu: GpuSpec | null,
  path: string,
  issues: IssueCollector,
): Topology | null {
  const t = optSection(raw, path, issues, `{${TOPOLOGY_KEYS.join(', ')}}`);
  if (t === undefined) return null;
  const before = issues.issues.length;
  let fabric: FabricId | null = gpu?.fabric ?? null;
  if (t) {
    checkKeys(t, TOPOLOGY_KEYS, path, issues);
    if (t.fabric !== undefined) {
      fabric = parseFabric(t.fabric);
      if (!fabric)
        issues.add(
          `${path}.fabric`,
          `unknown fabric ${show(t.fabric)}; expected one of ${FABRIC_IDS.join(', ')}`,
        );
    }
  }
  if (!gpu || !fabric || issues.issues.length > before) return null;
  const base = defaultTopology(gpu);
  if (t?.fabric !== undefined && fabric !== gpu.fabric) {
    base.fabric = fabric;
    base.linkGBps = FABRICS[fabric].linkGBps;
    base.linkLatencyUs = FABRICS[fabric].latencyUs;
    base.linkEfficiency = FABRICS[fabric].efficiency;
  }
  if (!t) return base;
  const pos = (k: (typeof TOPOLOGY_KEYS)[number], integer = false) =>
    t[k] === undefined
      ? undefined
      : num(t[k], `${path}.${k}`, issues, { min: integer ? 1 : 0, above: !integer, integer });
  const out: Topology = {
    ...base,
    linkGBps: pos('linkGBps') ?? base.linkGBps,
    linkLatencyUs:
      t.linkLatencyUs === undefined
        ? base.linkLatencyUs
        : (num(t.linkLatencyUs, `${path}.linkLatencyUs`, issues, { min: 0 }) ?? 0),
    linkEfficiency:
      t.linkEfficiency === undefined
        ? base.linkEfficiency
        : (num(t.linkEfficiency, `${path}.linkEfficiency`, issues, { min: 0, above: true, max: 1 }) ?? 1),
    gpusPerNode: pos('gpusPerNode', true) ?? base.gpusPerNode,
    nodes: pos('nodes', true) ?? null,
    networkGBps: pos('networkGBps') ?? base.networkGBps,
    networkLatencyUs:
      t.networkLatencyUs === undefined
        ? base.networkLatencyUs
        : (num(t.networkLatencyUs, `${path}.networkLatencyUs`, issues, { min: 0 }) ?? 0),
    collectives:
      optEnum(t.collectives, `${path}.collectives`, issues, ['auto', 'topology'] as const, 'auto') ?? 'auto',
  };
  return issues.issues.length > before ? null : out;
}

/** GPUs the topology holds (Infinity when its node count is left open). */
export function topologyGpus(t: Topology): number {
  return t.nodes === null ? Infinity : t.nodes * t.gpusPerNode;
}

/** How a group of `ranks` GPUs (placed contiguously, node by node) lies on the topology. */
export function groupPlacement(t: Topology, ranks: number): { perNode: number; nodes: number } {
  const perNode = Math.max(1, Math.min(ranks, t.gpusPerNode));
  return { perNode, nodes: Math.ceil(ranks / perNode) };
}
