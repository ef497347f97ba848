import { fitKernelCurve, curveError, type FitError, type KernelSample } from '../calibration/kernel-fit';
import type { GpuSpec } from '../types';
import fitted from './fitted-moe-curves.json';
import { KERNEL_SIBLINGS, type KernelCurve } from './kernel-curves';

/**
 * Per-GPU curves of vLLM's fused MoE kernel (one MoE layer's experts: gate-up, activation, down),
 * fitted on its measurements (libs/sim/data/kernels/<gpu>/moe.csv, SOURCE-moe.md): the fraction
 * of the datasheet bandwidth the experts' weights stream at and of the BF16 peak their FLOPs run
 * at, by tokens per expert and experts touched. Where a GPU has no such curve (nor a measured sibling) the experts
 * are costed as dense GEMMs at the tokens each receives.
 */
export interface MoeCurveFile {
  format: 'kvplan-moe-curves/1';
  gpus: Array<{ gpu: string; preset: string; moe: KernelCurve; error: FitError }>;
}

const FILE = fitted as MoeCurveFile;

/** Measured MoE curves by kvplan preset id. */
export const MEASURED_MOE_CURVES: ReadonlyMap<string, KernelCurve> = new Map(
  FILE.gpus.map((g) => [g.preset, g.moe]),
);

/** The GPU's fused-MoE curve: its own, its measured sibling's, or null. */
export function moeCurveFor(gpu: GpuSpec): KernelCurve | null {
  return MEASURED_MOE_CURVES.get(gpu.id) ?? MEASURED_MOE_CURVES.get(KERNEL_SIBLINGS[gpu.id] ?? '') ?? null;
}

/**
 * The nearest power of two: the measured shapes give tokens per expert and experts touched at
 * arbitrary values; knots on whole octaves keep the table smooth where the simulator reads it.
 */
const octave = (v: number) => 2 ** Math.round(Math.log2(Math.max(1, v)));

/** Columns of moe.csv. */
export const MOE_FILE_COLUMNS = [
  'num_tokens',
  'hidden_size',
  'inter_size',
  'topk',
  'num_experts',
  'ep_size',
  'latency_us',
] as const;

/**
 * What one measured call did: `routes` = tokens x topk / ep_size routed to this rank's
 * num_experts / ep_size experts, evenly, so min(experts, routes) of them are touched; bytes are
 * the touched experts' BF16 weights (3 x hidden x inter each), FLOPs 2 x 3 x hidden x inter per
 * route; the size features are routes per touched expert (x) and experts touched (y), each at
 * its nearest power of two.
 */
export function moeSamples(rows: Array<Record<string, number>>): KernelSample[] {
  return rows.map((r) => {
    const local = r.num_experts / r.ep_size;
    const routes = (r.num_tokens * r.topk) / r.ep_size;
    const touched = Math.max(1, Math.min(local, routes));
    const expert = 3 * r.hidden_size * r.inter_size;
    return {
      x: octave(routes / touched),
      y: octave(touched),
      bytes: 2 * touched * expert,
      flops: 2 * expert * routes,
      seconds: r.latency_us * 1e-6,
    };
  });
}

/** Fits a GPU's fused-MoE curve on its measurement rows, and its error on them. */
export function fitMoeCurve(
  rows: Array<Record<string, number>>,
  preset: GpuSpec,
): { moe: KernelCurve; error: FitError } {
  const bw = preset.memoryBandwidthGBps * 1e9;
  const peak = preset.bf16Tflops * 1e12;
  const samples = moeSamples(rows);
  const moe = fitKernelCurve(samples, bw, peak, 'both', 1);
  return { moe, error: curveError(moe, samples, bw, peak) };
}
