import type { GpuSpec } from '../types';
import type { Topology } from './topology';

/**
 * The host side of a GPU's node, which the topology (topology.ts: fabric, GPUs a node, network)
 * does not describe: the PCIe link between host and GPU (CPU KV offload loads over it) and the
 * host memory the CPU block pools must fit in.
 */
export interface HostLinks {
  /** Host <-> device copy bandwidth of one GPU, one direction, as DMA reaches it, GB/s. */
  hostToDeviceGBps: number;
  /** Fixed cost of one host <-> device transfer (DMA setup and completion), seconds. */
  hostTransferLatencyS: number;
  /** Host memory of one node, GiB. */
  hostMemoryGiB: number;
}

/** Fraction of the PCIe link's datasheet rate that pinned-memory DMA of KV blocks reaches. */
export const PCIE_DMA_EFFICIENCY = 0.8;
/** PCIe x16 per direction, GB/s. */
const PCIE_GEN4 = 32;
const PCIE_GEN5 = 64;
const PCIE_GEN6 = 128;

/**
 * Host links of the presets' usual servers (vendors' reference boards: DGX/HGX with 1-2 TiB of
 * host memory; cloud instances for the PCIe cards).
 */
const HOSTS: Record<string, { pcieGBps: number; hostMemoryGiB: number }> = {
  'a100-40gb': { pcieGBps: PCIE_GEN4, hostMemoryGiB: 1024 },
  'a100-80gb': { pcieGBps: PCIE_GEN4, hostMemoryGiB: 2048 },
  'h100-sxm': { pcieGBps: PCIE_GEN5, hostMemoryGiB: 2048 },
  'h100-pcie': { pcieGBps: PCIE_GEN5, hostMemoryGiB: 1024 },
  h200: { pcieGBps: PCIE_GEN5, hostMemoryGiB: 2048 },
  b200: { pcieGBps: PCIE_GEN6, hostMemoryGiB: 2048 },
  l40s: { pcieGBps: PCIE_GEN4, hostMemoryGiB: 1024 },
  l4: { pcieGBps: PCIE_GEN4, hostMemoryGiB: 384 },
  'rtx-4090': { pcieGBps: PCIE_GEN4, hostMemoryGiB: 512 },
  'rtx-pro-6000': { pcieGBps: PCIE_GEN5, hostMemoryGiB: 1024 },
};

/**
 * The host links of `gpu`'s node. An inline GPU: its fabric's PCIe generation when it is PCIe
 * (else Gen4), and host memory twice its node's GPU memory.
 */
export function hostLinksFor(gpu: GpuSpec): HostLinks {
  const fromFabric = gpu.fabric === 'pcie6' ? PCIE_GEN6 : gpu.fabric === 'pcie5' ? PCIE_GEN5 : PCIE_GEN4;
  const h = HOSTS[gpu.id] ?? {
    pcieGBps: fromFabric,
    hostMemoryGiB: Math.round(2 * gpu.gpusPerNode * gpu.memoryGiB),
  };
  return {
    hostToDeviceGBps: h.pcieGBps * PCIE_DMA_EFFICIENCY,
    hostTransferLatencyS: 20e-6,
    hostMemoryGiB: h.hostMemoryGiB,
  };
}

/**
 * Where the stages of a replica of `stages` stages of `tensorParallel` GPUs sit on the topology:
 * stages fill a node before the next one starts, so boundary k (between stage k and k + 1) crosses
 * nodes when stage k + 1 starts a node (every boundary does when one stage spans nodes).
 */
export function pipelinePlacement(
  topology: Topology,
  tensorParallel: number,
  stages: number,
): { interNodeBoundary: boolean[]; nodesPerReplica: number } {
  const stagesPerNode = Math.max(1, Math.floor(topology.gpusPerNode / tensorParallel));
  const interNodeBoundary: boolean[] = [];
  for (let k = 0; k + 1 < stages; k++) interNodeBoundary.push((k + 1) % stagesPerNode === 0);
  return {
    interNodeBoundary,
    nodesPerReplica: Math.ceil((tensorParallel * stages) / topology.gpusPerNode),
  };
}

/** Seconds to move `bytes` over one link of `gbps` GB/s with a fixed `latencyS` (0 bytes: nothing). */
export function transferTime(bytes: number, gbps: number, latencyS: number): number {
  return bytes > 0 ? latencyS + bytes / (gbps * 1e9) : 0;
}
