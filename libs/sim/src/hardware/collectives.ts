import type { GpuSpec } from '../types';
import { findGpuPreset } from './gpus';
import {
  allReduceCurve,
  interpolate,
  kernelCalibrationFor,
  type GpuKernelCurves,
  type KernelCurve,
} from './kernel-curves';
import { FABRICS, groupPlacement, type Topology } from './topology';

/**
 * Collectives over a group of GPUs, costed from the topology (ring and tree algorithms: a latency
 * term per step plus bytes over the per-direction bandwidth) or, inside a node on the fabric the
 * kernel data was measured on, from the measured all-reduce curves.
 *
 * Message sizes are per rank: an all-reduce's buffer (each rank holds `bytes` and ends with their
 * sum), an all-gather's output (each rank contributes bytes / n), an all-to-all's send buffer
 * (each rank sends bytes / n to every rank, itself included).
 */
export type CollectiveKind = 'allReduce' | 'allGather' | 'allToAll';

const log2ceil = (n: number) => Math.ceil(Math.log2(n));

/** Bytes/s one direction of a link of `gbps` (both directions together, GB/s) carries. */
const perDirection = (gbps: number) => (gbps * 1e9) / 2;

/**
 * One collective inside one level (a node's fabric or the network), seconds. All-reduce: the
 * fastest of a ring (reduce-scatter then all-gather, 2(n-1) steps), a tree (2 log2 n steps, the
 * whole buffer each way) and, on NVLink, one-shot (every GPU reads every peer's buffer: 2 steps,
 * (n-1) buffers; vLLM's custom all-reduce for small messages).
 */
function flat(
  kind: CollectiveKind,
  bytes: number,
  n: number,
  bw: number,
  stepS: number,
  oneShot: boolean,
): number {
  if (n <= 1) return 0;
  const share = ((n - 1) / n) * bytes;
  switch (kind) {
    case 'allReduce': {
      const ring = 2 * (n - 1) * stepS + (2 * share) / bw;
      const tree = 2 * log2ceil(n) * stepS + (2 * bytes) / bw;
      const best = ring < tree ? ring : tree;
      const direct = 2 * stepS + ((n - 1) * bytes) / bw;
      return oneShot && direct < best ? direct : best;
    }
    case 'allGather':
    case 'allToAll':
      return (n - 1) * stepS + share / bw;
  }
}

/**
 * Seconds a collective over `ranks` GPUs takes on the topology, placed node by node. Inside a
 * node: the fabric's per-direction bandwidth at its efficiency, and its step latency. Across nodes, hierarchically:
 * all-reduce as reduce-scatter in the node, all-reduce of each GPU's 1/perNode share over the
 * network (one NIC per GPU), all-gather in the node; all-gather as the network part then the node
 * part; all-to-all with the off-node share through the NIC and the rest over the fabric at once.
 */
export function topologyCollectiveTime(
  kind: CollectiveKind,
  bytes: number,
  ranks: number,
  t: Topology,
): number {
  if (ranks <= 1 || bytes <= 0) return 0;
  const bw = perDirection(t.linkGBps) * t.linkEfficiency;
  const step = t.linkLatencyUs * 1e-6;
  const nv = FABRICS[t.fabric].kind === 'nvlink';
  const { perNode: p, nodes: m } = groupPlacement(t, ranks);
  if (m <= 1) return flat(kind, bytes, ranks, bw, step, nv);
  const net = t.networkGBps * 1e9;
  const netStep = t.networkLatencyUs * 1e-6;
  switch (kind) {
    case 'allReduce':
      return (
        2 * flat('allGather', bytes, p, bw, step, nv) + flat('allReduce', bytes / p, m, net, netStep, false)
      );
    case 'allGather':
      return flat('allGather', bytes / p, m, net, netStep, false) + flat('allGather', bytes, p, bw, step, nv);
    case 'allToAll': {
      const inNode = ((p - 1) / ranks) * bytes;
      const offNode = ((ranks - p) / ranks) * bytes;
      const a = inNode / bw;
      const b = offNode / net;
      return (p - 1) * step + (m - 1) * netStep + (a > b ? a : b);
    }
  }
}

/**
 * The collectives of one deployment: measured where the kernel data has this GPU's (or its
 * sibling's) all-reduce on the same kind of fabric and the group fits in a node, else the topology.
 */
export class Collectives {
  readonly topology: Topology;
  private readonly measuredFabric: string | null;
  private readonly curves: GpuKernelCurves;
  private readonly launchScale: number;

  /** launchScale: multiplier on the measured curves' fixed per-call time (calibration). */
  constructor(gpu: GpuSpec, topology: Topology, launchScale = 1) {
    this.topology = topology;
    this.launchScale = launchScale;
    const cal = kernelCalibrationFor(gpu);
    const measuredOn = cal.source === 'datasheet only' ? null : findGpuPreset(cal.curves.preset);
    this.measuredFabric = measuredOn ? FABRICS[measuredOn.fabric].kind : null;
    this.curves = cal.curves;
  }

  /** The measured all-reduce curve for a group of `ranks`, or null when the topology costs it. */
  measuredCurve(ranks: number): KernelCurve | null {
    if (this.topology.collectives === 'topology') return null;
    if (this.measuredFabric === null || this.measuredFabric !== FABRICS[this.topology.fabric].kind)
      return null;
    if (ranks > this.topology.gpusPerNode) return null;
    return allReduceCurve(this.curves, ranks);
  }

  /** Where a collective over `ranks` GPUs is costed from. */
  source(ranks: number): 'measured' | 'topology' {
    return this.measuredCurve(ranks) ? 'measured' : 'topology';
  }

  /**
   * Seconds of one collective. Measured: the curve's fixed time plus the ring bytes (all-reduce:
   * 2(n-1)/n of the buffer; all-gather and all-to-all: (n-1)/n) at the bus efficiency the
   * all-reduce reached at that message size, of the link bandwidth.
   */
  time(kind: CollectiveKind, bytes: number, ranks: number): number {
    if (ranks <= 1 || bytes <= 0) return 0;
    const c = this.measuredCurve(ranks);
    if (!c) return topologyCollectiveTime(kind, bytes, ranks, this.topology);
    const share = ((ranks - 1) / ranks) * bytes;
    const moved = kind === 'allReduce' ? 2 * share : share;
    const frac = interpolate(c, c.mem, Math.log2(bytes > 1 ? bytes : 1), 0);
    return c.launchS * this.launchScale + moved / (this.topology.linkGBps * 1e9 * frac);
  }
}
