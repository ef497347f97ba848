import type { GpuSpec } from '../types';

/**
 * What the simulator needs to know about the machine around the GPUs beyond the GPU itself:
 * the host link (PCIe, for CPU KV offload), the node (how many GPUs share one host and its
 * memory) and the network between nodes (pipeline stages on different nodes). One place, so the
 * interconnect topology can take these over with one edit (`hostLinksFor`).
 */
export interface HostLinks {
  /** Host <-> device copy bandwidth of one GPU, one direction, as DMA reaches it, GB/s. */
  hostToDeviceGBps: number;
  /** Fixed cost of one host <-> device transfer (DMA setup and completion), seconds. */
  hostTransferLatencyS: number;
  /** GPUs in one node (one host). */
  gpusPerNode: number;
  /** Host memory of one node, GiB. */
  hostMemoryGiB: number;
  /** Network bandwidth between nodes per GPU, one direction, GB/s. */
  interNodeGBps: number;
  /** Latency of one inter-node message, seconds. */
  interNodeLatencyS: number;
  /** Latency of one point-to-point message between GPUs of a node (NCCL send/recv), seconds. */
  intraNodeLatencyS: number;
}

/** Fraction of the PCIe link's datasheet rate that pinned-memory DMA of KV blocks reaches. */
export const PCIE_DMA_EFFICIENCY = 0.8;
/** PCIe x16 per direction, GB/s. */
const PCIE_GEN4 = 32;
const PCIE_GEN5 = 64;
const PCIE_GEN6 = 128;
/** One NIC per GPU: InfiniBand NDR 400 Gb/s, HDR 200 Gb/s; 100 GbE for PCIe cards. */
const NDR = 50;
const HDR = 25;
const ETH100 = 12.5;

interface NodeShape {
  pcieGBps: number;
  gpusPerNode: number;
  hostMemoryGiB: number;
  interNodeGBps: number;
}

/**
 * Nodes the presets usually come in (vendors' reference servers: DGX/HGX 8-GPU boards with
 * 1-2 TiB of host memory; cloud instances for the PCIe cards).
 */
const NODES: Record<string, NodeShape> = {
  'a100-40gb': { pcieGBps: PCIE_GEN4, gpusPerNode: 8, hostMemoryGiB: 1024, interNodeGBps: HDR },
  'a100-80gb': { pcieGBps: PCIE_GEN4, gpusPerNode: 8, hostMemoryGiB: 2048, interNodeGBps: HDR },
  'h100-sxm': { pcieGBps: PCIE_GEN5, gpusPerNode: 8, hostMemoryGiB: 2048, interNodeGBps: NDR },
  'h100-pcie': { pcieGBps: PCIE_GEN5, gpusPerNode: 8, hostMemoryGiB: 1024, interNodeGBps: ETH100 },
  h200: { pcieGBps: PCIE_GEN5, gpusPerNode: 8, hostMemoryGiB: 2048, interNodeGBps: NDR },
  b200: { pcieGBps: PCIE_GEN6, gpusPerNode: 8, hostMemoryGiB: 2048, interNodeGBps: NDR },
  l40s: { pcieGBps: PCIE_GEN4, gpusPerNode: 8, hostMemoryGiB: 1024, interNodeGBps: ETH100 },
  l4: { pcieGBps: PCIE_GEN4, gpusPerNode: 8, hostMemoryGiB: 384, interNodeGBps: ETH100 },
  'rtx-4090': { pcieGBps: PCIE_GEN4, gpusPerNode: 8, hostMemoryGiB: 512, interNodeGBps: ETH100 },
  'rtx-pro-6000': { pcieGBps: PCIE_GEN5, gpusPerNode: 8, hostMemoryGiB: 1024, interNodeGBps: ETH100 },
};

/** The host links of `gpu`'s node; an inline GPU gets a PCIe Gen4 node of 8 with twice their memory. */
export function hostLinksFor(gpu: GpuSpec): HostLinks {
  const n = NODES[gpu.id] ?? {
    pcieGBps: PCIE_GEN4,
    gpusPerNode: 8,
    hostMemoryGiB: Math.round(16 * gpu.memoryGiB),
    interNodeGBps: ETH100,
  };
  return {
    hostToDeviceGBps: n.pcieGBps * PCIE_DMA_EFFICIENCY,
    hostTransferLatencyS: 20e-6,
    gpusPerNode: n.gpusPerNode,
    hostMemoryGiB: n.hostMemoryGiB,
    interNodeGBps: n.interNodeGBps,
    interNodeLatencyS: 10e-6,
    intraNodeLatencyS: 8e-6,
  };
}

/**
 * Where the stages of a replica of `stages` stages of `tensorParallel` GPUs sit: stages fill a
 * node before the next one starts, so boundary k (between stage k and k + 1) crosses nodes when
 * stage k + 1 starts a node. A tensor-parallel group larger than a node spans nodes itself.
 */
export function pipelinePlacement(
  links: HostLinks,
  tensorParallel: number,
  stages: number,
): { interNodeBoundary: boolean[]; tensorParallelSpansNodes: boolean; nodesPerReplica: number } {
  const stagesPerNode = Math.max(1, Math.floor(links.gpusPerNode / tensorParallel));
  const interNodeBoundary: boolean[] = [];
  for (let k = 0; k + 1 < stages; k++) interNodeBoundary.push((k + 1) % stagesPerNode === 0);
  return {
    interNodeBoundary,
    tensorParallelSpansNodes: tensorParallel > links.gpusPerNode,
    nodesPerReplica: Math.ceil((tensorParallel * stages) / links.gpusPerNode),
  };
}

/** Seconds to move `bytes` over one link of `gbps` GB/s with a fixed `latencyS` (0 bytes: nothing). */
export function transferTime(bytes: number, gbps: number, latencyS: number): number {
  return bytes > 0 ? latencyS + bytes / (gbps * 1e9) : 0;
}
