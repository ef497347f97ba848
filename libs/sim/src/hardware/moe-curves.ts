import type { FitError } from '../calibration/kernel-fit';
import type { GpuSpec } from '../types';
import fitted from './fitted-moe-curves.json';
import { CompiledCurve, KERNEL_SIBLINGS, type KernelCurve } from './kernel-curves';

/**
 * Per-GPU curves of vLLM's fused MoE kernel (one MoE layer's experts: gate-up, activation, down,
 * top-k sum), fitted on its measurements (libs/sim/data/kernels/<gpu>/moe.csv, SOURCE-moe.md) by
 * `calibration/moe-fit.ts`. A call takes the experts' launch time, plus the larger of streaming
 * the touched experts' weights and computing their FLOPs (`experts`: fractions of the datasheet
 * bandwidth and BF16 peak by routes per touched expert, experts touched and the expert's size),
 * plus the per-route activation traffic of every route of the batch (`routes`: fraction of the
 * datasheet bandwidth by the batch's routes, tokens x top-k). The second term is what expert parallelism does not
 * divide: vLLM's kernel runs over the whole batch's routes on every rank (those routed to another
 * rank's experts write zeros), so at 16k tokens and one local expert it is most of the time.
 * Where a GPU has no such curve (nor a measured sibling) the experts are costed as dense GEMMs at
 * the tokens each receives.
 */
export interface MoeCurve {
  /**
   * The experts' GEMMs: x routes per touched expert, y experts touched, z (where present) the
   * expert's size, hidden x inter elements (compiled once per model); launchS per layer call.
   */
  experts: KernelCurve;
  /** The per-route traffic (moeRouteBytes each) of the batch's routes: x routes; compute unused. */
  routes: KernelCurve;
}

export interface MoeCurveFile {
  format: 'kvplan-moe-curves/2';
  gpus: Array<{
    gpu: string;
    preset: string;
    moe: MoeCurve;
    /** On every measured call, as the simulator evaluates the curve. */
    error: FitError;
    /** On the held-out fifth of the shapes (moeHoldoutShape), by a curve fitted without them. */
    heldOut: FitError;
  }>;
}

const FILE = fitted as MoeCurveFile;

/** Measured MoE curves by kvplan preset id. */
export const MEASURED_MOE_CURVES: ReadonlyMap<string, MoeCurve> = new Map(
  FILE.gpus.map((g) => [g.preset, g.moe]),
);

/**
 * Each measured curve's error on the held-out fifth of its shapes, by a curve fitted without them
 * (as `npm run calibrate:moe-kernels` last measured it), by kvplan preset id.
 */
export const MOE_HELD_OUT_ERRORS: ReadonlyMap<string, FitError> = new Map(
  FILE.gpus.map((g) => [g.preset, g.heldOut]),
);

/** The GPU's fused-MoE curve: its own, its measured sibling's, or null. */
export function moeCurveFor(gpu: GpuSpec): MoeCurve | null {
  return MEASURED_MOE_CURVES.get(gpu.id) ?? MEASURED_MOE_CURVES.get(KERNEL_SIBLINGS[gpu.id] ?? '') ?? null;
}

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
 * BF16 activation bytes one route (a token at one of its top-k experts) moves outside the
 * weights, for experts of `hidden` x `inter` (inter already divided by any tensor slicing): the
 * gate-up output (2 x inter) written, read by the activation, which writes inter that the down
 * GEMM reads (6 x inter), and the down output (hidden) written and read by the top-k sum.
 */
export function moeRouteBytes(hidden: number, inter: number): number {
  return 2 * (6 * inter + 2 * hidden);
}

/**
 * A fused-MoE curve compiled for the step-time model (both parts on their octave grids, see
 * CompiledCurve): seconds of the experts' weights or FLOPs plus the routes' traffic, without
 * the launch time (`launchS`, the caller's to add per call).
 */
export class CompiledMoeCurve {
  readonly launchS: number;
  private readonly experts: CompiledCurve;
  private readonly routes: CompiledCurve;

  /** `size`: hidden x inter of one expert (its slice, when sliced), where the table has that axis. */
  constructor(c: MoeCurve, size = 1) {
    this.launchS = c.experts.launchS;
    this.experts = new CompiledCurve(c.experts, size);
    this.routes = new CompiledCurve(c.routes);
  }

  /**
   * `perExpert` routes per touched expert, `touched` experts, their weight `bytes` and `flops`;
   * `routes` routes in the batch moving `routeBytes` in all.
   */
  time(
    perExpert: number,
    touched: number,
    bytes: number,
    flops: number,
    routes: number,
    routeBytes: number,
    bandwidth: number,
    peak: number,
  ): number {
    return (
      this.experts.time(perExpert, touched, bytes, flops, bandwidth, peak) +
      this.routes.time(routes, 1, routeBytes, 0, bandwidth, peak)
    );
  }
}
