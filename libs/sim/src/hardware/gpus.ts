import { IssueCollector } from '@kvplan/core';
import type { FabricId, GpuSpec } from '../types';
import { FABRIC_IDS, FABRICS, parseFabric } from './topology';

/**
 * GPU presets from the vendors' datasheets.
 * - memoryGiB: capacity usable by CUDA programs (what torch.cuda.mem_get_info reports as total,
 *   e.g. the 79.1-79.3 GiB that vLLM logs as `total_gpu_memory` on an 80 GB H100), i.e. the
 *   datasheet GB less ECC and driver reservations; an approximation where no such log is known.
 * - bf16Tflops / fp8Tflops: DENSE tensor-core peaks (the datasheets' "with sparsity" figures
 *   halved). GeForce cards are quoted with FP32 accumulation (what vLLM's kernels use).
 * - interconnectGBps: per-GPU NVLink bandwidth (NVIDIA's bidirectional figure) where the part
 *   has NVLink, else its PCIe link (bidirectional, x16).
 * - fabric, gpusPerNode: the usual server of the part (8 GPUs on NVLink or on PCIe); a spec's
 *   `topology` overrides them and adds the network between nodes (topology.ts).
 */
const GPU_PRESETS: readonly GpuSpec[] = [
  {
    id: 'a100-40gb',
    name: 'NVIDIA A100 40GB SXM',
    memoryGiB: 39.39,
    memoryBandwidthGBps: 1555,
    bf16Tflops: 312,
    // Ampere has no FP8 tensor cores: vLLM runs FP8 checkpoints there as weight-only (Marlin)
    // with BF16 math, so the FP8 rate is the BF16 one (not the 624 dense INT8 TOPS).
    fp8Tflops: 312,
    interconnectGBps: 600,
    fabric: 'nvlink3',
    gpusPerNode: 8,
  },
  {
    id: 'a100-80gb',
    name: 'NVIDIA A100 80GB SXM',
    memoryGiB: 79.15,
    memoryBandwidthGBps: 2039,
    bf16Tflops: 312,
    // No FP8 on Ampere: BF16 rate, as for a100-40gb.
    fp8Tflops: 312,
    interconnectGBps: 600,
    fabric: 'nvlink3',
    gpusPerNode: 8,
  },
  {
    id: 'h100-sxm',
    name: 'NVIDIA H100 80GB HBM3 SXM',
    memoryGiB: 79.15,
    memoryBandwidthGBps: 3352,
    bf16Tflops: 989.5,
    fp8Tflops: 1979,
    interconnectGBps: 900,
    fabric: 'nvlink4',
    gpusPerNode: 8,
  },
  {
    id: 'h100-pcie',
    name: 'NVIDIA H100 80GB PCIe',
    memoryGiB: 79.15,
    memoryBandwidthGBps: 2039,
    bf16Tflops: 756.5,
    fp8Tflops: 1513,
    // PCIe Gen5 x16 (the optional NVLink bridge is not assumed).
    interconnectGBps: 128,
    fabric: 'pcie5',
    gpusPerNode: 8,
  },
  {
    id: 'h200',
    name: 'NVIDIA H200 141GB HBM3e SXM',
    memoryGiB: 139.8,
    memoryBandwidthGBps: 4800,
    bf16Tflops: 989.5,
    fp8Tflops: 1979,
    interconnectGBps: 900,
    fabric: 'nvlink4',
    gpusPerNode: 8,
  },
  {
    id: 'b200',
    name: 'NVIDIA B200 180GB HBM3e SXM',
    memoryGiB: 178.4,
    memoryBandwidthGBps: 8000,
    bf16Tflops: 2250,
    fp8Tflops: 4500,
    interconnectGBps: 1800,
    fabric: 'nvlink5',
    gpusPerNode: 8,
  },
  {
    id: 'l40s',
    name: 'NVIDIA L40S',
    memoryGiB: 44.52,
    memoryBandwidthGBps: 864,
    bf16Tflops: 362.05,
    fp8Tflops: 733,
    // PCIe Gen4 x16; no NVLink.
    interconnectGBps: 64,
    fabric: 'pcie4',
    gpusPerNode: 8,
  },
  {
    id: 'l4',
    name: 'NVIDIA L4',
    memoryGiB: 22.05,
    memoryBandwidthGBps: 300,
    bf16Tflops: 121,
    fp8Tflops: 242.5,
    interconnectGBps: 64,
    fabric: 'pcie4',
    gpusPerNode: 8,
  },
  {
    id: 'rtx-4090',
    name: 'NVIDIA GeForce RTX 4090',
    memoryGiB: 23.65,
    memoryBandwidthGBps: 1008,
    // Ada GeForce: 165.2 dense BF16 / 330.3 dense FP8 with FP32 accumulation.
    bf16Tflops: 165.2,
    fp8Tflops: 330.3,
    interconnectGBps: 64,
    fabric: 'pcie4',
    gpusPerNode: 8,
  },
  {
    id: 'rtx-pro-6000',
    name: 'NVIDIA RTX PRO 6000 Blackwell',
    memoryGiB: 95.0,
    memoryBandwidthGBps: 1792,
    bf16Tflops: 503.8,
    fp8Tflops: 1007.6,
    // PCIe Gen5 x16; no NVLink.
    interconnectGBps: 128,
    fabric: 'pcie5',
    gpusPerNode: 8,
  },
];

/** Every GPU preset (copies). */
export function listGpuPresets(): GpuSpec[] {
  return GPU_PRESETS.map((g) => ({ ...g }));
}

/** The preset with this exact id (case-insensitive), or null. */
export function findGpuPreset(id: string): GpuSpec | null {
  const key = id.trim().toLowerCase();
  const g = GPU_PRESETS.find((p) => p.id === key);
  return g ? { ...g } : null;
}

/**
 * Maps a loosely written GPU name ("NVIDIA H100 80GB HBM3 (SXM)", "RTX PRO 6000 Blackwell",
 * "GeForce RTX 4090", "a100 80gb", a preset id) to a preset id; null when it names no preset or
 * is ambiguous (a bare "A100", an "H100 NVL").
 */
export function matchGpuName(name: string): string | null {
  const s = name
    .toLowerCase()
    .replace(/[_()[\],]/g, ' ')
    .replace(/\b(nvidia|geforce|tesla)\b/g, ' ')
    .replace(/\s+/g, ' ')
    .trim();
  const compact = s.replace(/[\s-]/g, '');
  if (GPU_PRESETS.some((p) => p.id === s)) return s;
  if (/\bb200\b/.test(s)) return 'b200';
  if (/\bh200\b/.test(s)) return 'h200';
  if (/\bh100\b/.test(s)) {
    if (/\bnvl\b/.test(s)) return null;
    if (/pcie/.test(s)) return 'h100-pcie';
    return 'h100-sxm';
  }
  if (/\ba100\b/.test(s)) {
    if (/\b40\s?gb?\b|\b40g\b/.test(s)) return 'a100-40gb';
    if (/\b80\s?gb?\b|\b80g\b/.test(s)) return 'a100-80gb';
    return null;
  }
  if (/\bl40s\b/.test(s)) return 'l40s';
  if (/\bl4\b/.test(s)) return 'l4';
  if (compact.includes('rtxpro6000')) return 'rtx-pro-6000';
  if (/\brtx\s?4090\b/.test(s) || /^4090\b/.test(s)) return 'rtx-4090';
  return null;
}

const INLINE_KEYS = [
  'name',
  'memoryGiB',
  'memoryBandwidthGBps',
  'bf16Tflops',
  'fp8Tflops',
  'interconnectGBps',
  'fabric',
  'gpusPerNode',
] as const;

/** Default per-GPU interconnect of an inline GPU that does not say: PCIe Gen4 x16, GB/s. */
export const DEFAULT_INTERCONNECT_GBPS = 64;
/** Default fabric of an inline GPU that does not say. */
export const DEFAULT_FABRIC: FabricId = 'pcie4';

export interface GpuResolveContext {
  baseDir: string;
  /** Issue path of the value, e.g. `gpu`. */
  path: string;
}

function describeValue(v: unknown): string {
  if (v === undefined) return 'nothing';
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  if (typeof v === 'object') return 'an object';
  return typeof v === 'string' ? JSON.stringify(v) : String(v);
}

/**
 * Resolves a GPU: a preset id, a loosely written name (matchGpuName), or an inline
 * `{name, memoryGiB, memoryBandwidthGBps, bf16Tflops, fp8Tflops?, interconnectGBps?, fabric?,
 * gpusPerNode?}` (fp8Tflops defaults to bf16Tflops, a GPU without FP8; fabric to PCIe Gen4;
 * interconnectGBps to the fabric's bandwidth; gpusPerNode to 8).
 */
export function resolveGpuInto(
  input: unknown,
  ctx: GpuResolveContext,
  issues: IssueCollector,
): GpuSpec | null {
  const ids = GPU_PRESETS.map((p) => p.id).join(', ');
  if (typeof input === 'string') {
    const exact = findGpuPreset(input);
    if (exact) return exact;
    const id = matchGpuName(input);
    if (id) return findGpuPreset(id);
    issues.add(
      ctx.path,
      `unknown GPU ${JSON.stringify(input)}; presets: ${ids}; or give an inline GPU object`,
    );
    return null;
  }
  if (typeof input !== 'object' || input === null || Array.isArray(input)) {
    issues.add(
      ctx.path,
      `expected a GPU preset id (${ids}) or an inline GPU object, got ${describeValue(input)}`,
    );
    return null;
  }
  const obj = input as Record<string, unknown>;
  const before = issues.issues.length;
  for (const k of Object.keys(obj)) {
    if (!(INLINE_KEYS as readonly string[]).includes(k))
      issues.add(`${ctx.path}.${k}`, `unknown key; an inline GPU takes ${INLINE_KEYS.join(', ')}`);
  }
  if (typeof obj.name !== 'string' || obj.name.trim() === '')
    issues.add(`${ctx.path}.name`, `expected a non-empty string, got ${describeValue(obj.name)}`);
  const positive = (k: (typeof INLINE_KEYS)[number], required: boolean): number | undefined => {
    const v = obj[k];
    if (v === undefined && !required) return undefined;
    if (typeof v !== 'number' || !Number.isFinite(v) || v <= 0) {
      issues.add(`${ctx.path}.${k}`, `expected a number > 0, got ${describeValue(v)}`);
      return undefined;
    }
    return v;
  };
  const memoryGiB = positive('memoryGiB', true);
  const bw = positive('memoryBandwidthGBps', true);
  const bf16 = positive('bf16Tflops', true);
  const fp8 = positive('fp8Tflops', false);
  const ic = positive('interconnectGBps', false);
  const perNode = positive('gpusPerNode', false);
  if (perNode !== undefined && !Number.isInteger(perNode))
    issues.add(`${ctx.path}.gpusPerNode`, `expected an integer >= 1, got ${perNode}`);
  const fabric = obj.fabric === undefined ? DEFAULT_FABRIC : parseFabric(obj.fabric);
  if (!fabric)
    issues.add(
      `${ctx.path}.fabric`,
      `unknown fabric ${describeValue(obj.fabric)}; expected one of ${FABRIC_IDS.join(', ')}`,
    );
  if (issues.issues.length > before) return null;
  const name = (obj.name as string).trim();
  return {
    id: name
      .toLowerCase()
      .replace(/[^a-z0-9]+/g, '-')
      .replace(/^-|-$/g, ''),
    name,
    memoryGiB: memoryGiB as number,
    memoryBandwidthGBps: bw as number,
    bf16Tflops: bf16 as number,
    fp8Tflops: fp8 ?? (bf16 as number),
    interconnectGBps:
      ic ?? (obj.fabric === undefined ? DEFAULT_INTERCONNECT_GBPS : FABRICS[fabric as FabricId].linkGBps),
    fabric: fabric as FabricId,
    gpusPerNode: perNode ?? 8,
  };
}

/** Like resolveGpuInto, but throws an InputError with every problem. */
export function resolveGpu(input: unknown, ctx: GpuResolveContext): GpuSpec {
  const issues = new IssueCollector();
  const gpu = resolveGpuInto(input, ctx, issues);
  issues.throwIfAny();
  return gpu as GpuSpec;
}

/** True for A100 parts (vLLM keeps the small engine defaults on them whatever their memory). */
export function isA100(gpu: GpuSpec): boolean {
  return /a100/i.test(gpu.id) || /a100/i.test(gpu.name);
}
