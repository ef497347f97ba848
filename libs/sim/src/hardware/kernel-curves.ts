import { InputError, type CalibrationSource } from '@kvplan/core';
import type { GpuSpec } from '../types';
import fitted from './fitted-kernel-curves.json';

/**
 * A per-GPU efficiency table of one kernel class, fitted on measured kernel latencies
 * (`calibration/kernels/fit.ts`): a call takes `launchS` plus the larger of moving its bytes at
 * `mem` of the datasheet bandwidth and computing its FLOPs at `compute` of the datasheet peak,
 * both fractions interpolated bilinearly in log2 of the kernel's size features and clamped at the
 * outer knots. x: GEMM tokens m; prefill attention prompt length; decode attention tokens in the
 * KV cache per sequence; all-reduce message bytes. y: the batch (sequences) times the heads per GPU
 * for attention (query heads for prefill, KV heads for decode), 1 else. z (attention only): the
 * KV heads per GPU, linear in log2 between slices; a step-time model fixes it once per model.
 */
export interface KernelCurve {
  /** Seconds per call that do not scale with size. */
  launchS: number;
  /** log2 of the x feature at each knot, increasing. */
  log2x: number[];
  /** log2 of the y feature at each knot, increasing (`[0]` for one-feature curves). */
  log2y: number[];
  /**
   * log2 of the z feature at each knot, increasing; absent for two-feature curves. The tables
   * then hold one x-by-y slice per z knot, in order.
   */
  log2z?: number[];
  /** Fraction of the datasheet memory (or link) bandwidth at each knot, row-major by y (by z, then y). */
  mem: number[];
  /** Fraction of the datasheet BF16 peak at each knot, laid out as `mem` (all-reduce: 1). */
  compute: number[];
}

/** The curves of one measured GPU. */
export interface GpuKernelCurves {
  /** The measured GPU's name in the kernel data (`h100_sxm`, ...). */
  gpu: string;
  /** The kvplan GPU preset the measurements were taken on. */
  preset: string;
  gemm: KernelCurve;
  contextAttention: KernelCurve;
  /** Decode attention of grouped-query models (more query heads than KV heads). */
  generationAttention: KernelCurve;
  /**
   * Decode attention of multi-head models (as many KV heads as query heads): another kernel path
   * in vLLM on some GPUs (A100 and L40S: up to 8x slower than the grouped path at one long
   * sequence), measured at 8 KV heads per GPU. Absent: the grouped curve serves.
   */
  mhaGenerationAttention?: KernelCurve;
  /** By number of GPUs taking part ("2", "4", "8"); the feature is the message size in bytes. */
  allReduce: Record<string, KernelCurve>;
}

export type { CalibrationSource } from '@kvplan/core';

/** The curves a step-time model uses, and where they come from. */
export interface KernelCalibration {
  source: CalibrationSource;
  curves: GpuKernelCurves;
}

interface CurvesFile {
  format: string;
  gpus: GpuKernelCurves[];
  generic: GpuKernelCurves;
}

const FILE = fitted as CurvesFile;

/** Every measured GPU's curves (as fitted), keyed by kvplan preset id. */
export const MEASURED_KERNEL_CURVES: ReadonlyMap<string, GpuKernelCurves> = new Map(
  FILE.gpus.map((g) => [g.preset, g]),
);

/**
 * The nearest measured sibling of each preset without kernel data: same architecture and memory
 * type, so the efficiencies carry over and the datasheet bandwidth and FLOPs do the scaling.
 */
export const KERNEL_SIBLINGS: Readonly<Record<string, string>> = {
  l4: 'l40s',
  l40: 'l40s',
  'h100-pcie': 'h100-sxm',
  'a100-40gb': 'a100-80gb',
  // Ada like the L40S (the RTX PRO 6000 is Blackwell).
  'rtx-4090': 'l40s',
};

/**
 * The kernel curves for a GPU: its own measurements, a sibling's (efficiencies relative to the
 * datasheet, so applying them to this GPU's datasheet numbers scales them), or, for a GPU with
 * neither, the median efficiencies over every measured GPU ("datasheet only").
 */
export function kernelCalibrationFor(gpu: GpuSpec): KernelCalibration {
  const own = MEASURED_KERNEL_CURVES.get(gpu.id);
  if (own) return { source: 'kernel-measured', curves: own };
  const sibling = KERNEL_SIBLINGS[gpu.id];
  const sib = sibling ? MEASURED_KERNEL_CURVES.get(sibling) : undefined;
  if (sib) return { source: `scaled from ${sib.preset}`, curves: sib };
  return { source: 'datasheet only', curves: FILE.generic };
}

/** Index i and weight t with knots[i] <= v <= knots[i + 1] (clamped: t 0 or 1 at the ends). */
function bracket(knots: number[], v: number): number {
  const n = knots.length;
  if (n === 1 || v <= knots[0]) return 0;
  if (v >= knots[n - 1]) return n - 1;
  let i = 1;
  while (knots[i] < v) i++;
  return i - 1 + (v - knots[i - 1]) / (knots[i] - knots[i - 1]);
}

/** The value at (log2x, log2y) of slice `iz` of a knot table, bilinear, clamped outside the knots. */
function plane(c: KernelCurve, values: number[], iz: number, log2x: number, log2y: number): number {
  const nx = c.log2x.length;
  const ny = c.log2y.length;
  const fx = bracket(c.log2x, log2x);
  const fy = bracket(c.log2y, log2y);
  const ix = Math.min(Math.floor(fx), nx - 1);
  const iy = Math.min(Math.floor(fy), ny - 1);
  const tx = fx - ix;
  const ty = fy - iy;
  const row = (iz * ny + iy) * nx;
  const a = values[row + ix];
  const b = tx > 0 ? values[row + ix + 1] : a;
  const top = a + tx * (b - a);
  if (ty === 0) return top;
  const row2 = row + nx;
  const c2 = values[row2 + ix];
  const d2 = tx > 0 ? values[row2 + ix + 1] : c2;
  return top + ty * (c2 + tx * (d2 - c2) - top);
}

/**
 * The value at (log2x, log2y, log2z) of a knot table (row-major by y, slices by z), linear in each
 * between knots and clamped outside them; `log2z` is ignored by a two-feature curve.
 */
export function interpolate(
  c: KernelCurve,
  values: number[],
  log2x: number,
  log2y: number,
  log2z = 0,
): number {
  const z = c.log2z;
  if (z === undefined || z.length < 2) return plane(c, values, 0, log2x, log2y);
  const fz = bracket(z, log2z);
  const iz = Math.min(Math.floor(fz), z.length - 1);
  const tz = fz - iz;
  const a = plane(c, values, iz, log2x, log2y);
  return tz > 0 ? a + tz * (plane(c, values, iz + 1, log2x, log2y) - a) : a;
}

/**
 * The decode-attention curve of a model with `numHeads` query and `numKvHeads` KV heads: the
 * multi-head one where the GPU has it and the model is multi-head, else the grouped one.
 */
export function decodeAttentionCurve(
  curves: GpuKernelCurves,
  numHeads: number,
  numKvHeads: number,
): KernelCurve {
  return numHeads === numKvHeads && curves.mhaGenerationAttention
    ? curves.mhaGenerationAttention
    : curves.generationAttention;
}

/**
 * Seconds one call of sizes (x, y, z) takes: launch plus the larger of its memory and compute times
 * at the table's efficiencies of `bandwidth` (bytes/s) and `peak` (FLOP/s).
 */
export function kernelTime(
  c: KernelCurve,
  x: number,
  y: number,
  bytes: number,
  flops: number,
  bandwidth: number,
  peak: number,
  z = 1,
): number {
  const lx = Math.log2(x > 1 ? x : 1);
  const ly = y > 1 ? Math.log2(y) : 0;
  const lz = z > 1 ? Math.log2(z) : 0;
  const mem = bytes / (bandwidth * interpolate(c, c.mem, lx, ly, lz));
  const cmp = flops > 0 ? flops / (peak * interpolate(c, c.compute, lx, ly, lz)) : 0;
  return c.launchS + (mem > cmp ? mem : cmp);
}

/** The all-reduce curve for `n` GPUs: measured, else the nearest measured count (more GPUs first). */
export function allReduceCurve(curves: GpuKernelCurves, n: number): KernelCurve | null {
  const counts = Object.keys(curves.allReduce)
    .map(Number)
    .sort((a, b) => Math.abs(a - n) - Math.abs(b - n) || b - a);
  return counts.length > 0 ? curves.allReduce[String(counts[0])] : null;
}

/**
 * log2 made piecewise linear between powers of two: exact at every power of two, linear in v
 * within an octave. Cheap (no Math.log2 on the hot path) and monotone.
 */
const INV_POW2 = Float64Array.from({ length: 32 }, (_, k) => 2 ** -k);

export function octaves(v: number): number {
  if (!(v > 1)) return 0;
  if (v >= 1073741824) return Math.log2(v);
  const k = 31 - Math.clz32(v);
  return k + (v * INV_POW2[k] - 1);
}

/**
 * A KernelCurve resampled once onto whole octaves (x and y powers of two), interpolated linearly
 * in the sizes within an octave (`octaves`), so that a lookup is an index computation instead of
 * a knot search and a logarithm: what the step-time model evaluates every step. A three-feature
 * curve is cut once at `z` (attention: the model's KV heads per GPU).
 */
export class CompiledCurve {
  readonly launchS: number;
  private readonly x0: number;
  private readonly y0: number;
  private readonly nx: number;
  private readonly ny: number;
  /** Interleaved per cell: memory fraction, compute fraction. */
  private readonly cells: Float64Array;

  constructor(c: KernelCurve, z = 1) {
    const lz = z > 1 ? Math.log2(z) : 0;
    this.launchS = c.launchS;
    this.x0 = Math.floor(c.log2x[0]);
    this.y0 = Math.floor(c.log2y[0]);
    this.nx = Math.max(2, Math.ceil(c.log2x[c.log2x.length - 1]) - this.x0 + 1);
    this.ny = Math.max(2, Math.ceil(c.log2y[c.log2y.length - 1]) - this.y0 + 1);
    this.cells = new Float64Array(this.nx * this.ny * 2);
    for (let j = 0; j < this.ny; j++)
      for (let i = 0; i < this.nx; i++) {
        const k = 2 * (j * this.nx + i);
        this.cells[k] = interpolate(c, c.mem, this.x0 + i, this.y0 + j, lz);
        this.cells[k + 1] = interpolate(c, c.compute, this.x0 + i, this.y0 + j, lz);
      }
  }

  /**
   * max(bytes / (bandwidth x mem), flops / (peak x compute)) at sizes (x, y), bilinear on the
   * octave grid, clamped at its edges; the launch time is the caller's to add.
   */
  time(x: number, y: number, bytes: number, flops: number, bandwidth: number, peak: number): number {
    return this.timeInRow(this.row(y, this.scratch), x, bytes, flops, bandwidth, peak);
  }

  private readonly scratch = new Float64Array(0);
  /** Rows by whole count (y = count x yPerCount), blended once each. */
  private readonly rows: Array<Float64Array | undefined> = [];

  /**
   * time() with y = count x `yPerCount` for a whole `count` (sequences in a batch): the row for
   * each count is blended once and kept, so a step costs one lookup along x.
   */
  timeForCount(
    count: number,
    yPerCount: number,
    x: number,
    bytes: number,
    flops: number,
    bandwidth: number,
    peak: number,
  ): number {
    let row = count < 4096 ? this.rows[count] : undefined;
    if (row === undefined) {
      row = this.row(count * yPerCount, new Float64Array(0));
      if (count < 4096) this.rows[count] = row;
    }
    return this.timeInRow(row, x, bytes, flops, bandwidth, peak);
  }

  /**
   * The table blended at size y: [mem, compute] per x knot, written into `out` (reused when it
   * has the right length). Callers that see the same y step after step keep one row.
   */
  row(y: number, out: Float64Array): Float64Array {
    const nx = this.nx;
    const ny = this.ny;
    const row = out.length === 2 * nx ? out : new Float64Array(2 * nx);
    let fy = octaves(y) - this.y0;
    if (fy < 0) fy = 0;
    else if (fy > ny - 1) fy = ny - 1;
    let iy = fy | 0;
    if (iy === ny - 1) iy--;
    const ty = fy - iy;
    const cells = this.cells;
    const k = 2 * iy * nx;
    for (let i = 0; i < 2 * nx; i++) row[i] = cells[k + i] + ty * (cells[k + 2 * nx + i] - cells[k + i]);
    return row;
  }

  /** time() on a row from row(y). */
  timeInRow(
    row: Float64Array,
    x: number,
    bytes: number,
    flops: number,
    bandwidth: number,
    peak: number,
  ): number {
    const nx = this.nx;
    let fx = octaves(x) - this.x0;
    if (fx < 0) fx = 0;
    else if (fx > nx - 1) fx = nx - 1;
    let ix = fx | 0;
    if (ix === nx - 1) ix--;
    const tx = fx - ix;
    const k = 2 * ix;
    const a = bytes / (bandwidth * (row[k] + tx * (row[k + 2] - row[k])));
    if (!(flops > 0)) return a;
    const b = flops / (peak * (row[k + 1] + tx * (row[k + 3] - row[k + 1])));
    return a > b ? a : b;
  }
}

/**
 * For callers that need kernel data (measured or a measured sibling): an InputError at `path`
 * naming the GPU when it has neither.
 */
export function requireKernelData(gpu: GpuSpec, path: string): void {
  if (kernelCalibrationFor(gpu).source !== 'datasheet only') return;
  throw new InputError([
    {
      path,
      message:
        `${JSON.stringify(gpu.name)} has no kernel measurements and no measured sibling ` +
        `(measured: ${[...MEASURED_KERNEL_CURVES.keys()].join(', ')}; scaled: ${Object.keys(KERNEL_SIBLINGS).join(', ')})`,
    },
  ]);
}
