import { InputError, IssueCollector } from '@kvplan/core';
import {
  CompiledCurve,
  decodeAttentionCurve,
  interpolate,
  type GpuKernelCurves,
  type KernelCurve,
} from '../hardware/kernel-curves';
import type { GpuSpec } from '../types';

/** One measured kernel call: size features, bytes moved, FLOPs, measured seconds. */
export interface KernelSample {
  x: number;
  /** Second feature (attention: batch x heads per GPU), 1 when the class has one feature. */
  y: number;
  /** Third feature (attention: KV heads per GPU); absent for two-feature classes. */
  z?: number;
  bytes: number;
  flops: number;
  seconds: number;
}

/** The kernel classes a GPU's curves cover, and the columns each measurement file must have. */
export const KERNEL_FILES = {
  gemm: ['m', 'n', 'k', 'latency_us'],
  contextAttention: ['batch', 'seq_len', 'num_heads', 'num_kv_heads', 'head_dim', 'latency_us'],
  generationAttention: ['batch', 'kv_len', 'num_heads', 'num_kv_heads', 'head_dim', 'latency_us'],
  allReduce: ['num_gpus', 'message_bytes', 'latency_us'],
} as const;
export type KernelClass = keyof typeof KERNEL_FILES;

/** File name of each class under a GPU's kernel folder. */
export const KERNEL_FILE_NAMES: Record<KernelClass, string> = {
  gemm: 'gemm.csv',
  contextAttention: 'context_attention.csv',
  generationAttention: 'generation_attention.csv',
  allReduce: 'allreduce.csv',
};

/**
 * Parses a kernel measurement CSV (header row, numbers) into records of the class's columns.
 * Every missing column and every non-numeric cell is an issue named by `file` (and line).
 */
export function parseKernelCsv(
  text: string,
  cls: KernelClass,
  file: string,
  issues: IssueCollector,
): Array<Record<string, number>> {
  const lines = text
    .replace(/\r/g, '')
    .split('\n')
    .filter((l) => l.trim() !== '');
  const header = (lines[0] ?? '').split(',').map((h) => h.trim());
  const need = KERNEL_FILES[cls];
  const missing = need.filter((c) => !header.includes(c));
  if (missing.length > 0) {
    issues.add(
      file,
      `missing column${missing.length > 1 ? 's' : ''} ${missing.join(', ')} (${cls} needs ${need.join(', ')})`,
    );
    return [];
  }
  const idx = need.map((c) => header.indexOf(c));
  const out: Array<Record<string, number>> = [];
  for (let i = 1; i < lines.length; i++) {
    const cells = lines[i].split(',');
    const rec: Record<string, number> = {};
    let ok = true;
    need.forEach((c, j) => {
      const v = Number(cells[idx[j]]);
      if (!Number.isFinite(v) || v < 0) {
        issues.add(
          `${file}:${i + 1}`,
          `${c}: expected a number >= 0, got ${JSON.stringify(cells[idx[j]] ?? '')}`,
        );
        ok = false;
      }
      rec[c] = v;
    });
    if (ok) out.push(rec);
  }
  return out;
}

/** Like parseKernelCsv, throwing an InputError with every issue. */
export function readKernelCsv(text: string, cls: KernelClass, file: string): Array<Record<string, number>> {
  const issues = new IssueCollector();
  const rows = parseKernelCsv(text, cls, file, issues);
  issues.throwIfAny();
  return rows;
}

const BF16 = 2;

/**
 * What each measured call did, for the roofline: bytes moved and FLOPs (BF16), and its size
 * feature. `allReduce` samples are keyed by GPU count apart (see allReduceSamples).
 */
export function kernelSamples(
  cls: Exclude<KernelClass, 'allReduce'>,
  rows: Array<Record<string, number>>,
): KernelSample[] {
  return rows.map((r) => {
    const seconds = r.latency_us * 1e-6;
    if (cls === 'gemm') {
      const { m, n, k } = r;
      return { x: m, y: 1, bytes: BF16 * (m * k + k * n + m * n), flops: 2 * m * n * k, seconds };
    }
    const b = r.batch;
    const h = r.num_heads;
    const kvh = r.num_kv_heads;
    const d = r.head_dim;
    if (cls === 'contextAttention') {
      const s = r.seq_len;
      // Q, K, V in and O out; causal: s(s+1)/2 query-key pairs, 4 FLOPs per pair per head dim.
      return {
        x: s,
        y: b * h,
        z: kvh,
        bytes: BF16 * b * s * (2 * h + 2 * kvh) * d,
        flops: 2 * b * h * d * s * (s + 1),
        seconds,
      };
    }
    const kv = r.kv_len;
    // The K and V cache read, one query and one output per sequence.
    return {
      x: kv,
      y: b * kvh,
      z: kvh,
      bytes: BF16 * b * d * (2 * kv * kvh + 2 * h),
      flops: 4 * b * h * d * kv,
      seconds,
    };
  });
}

/** All-reduce samples per GPU count; bytes are a ring's traffic per GPU, 2(n-1)/n of the message. */
export function allReduceSamples(rows: Array<Record<string, number>>): Map<number, KernelSample[]> {
  const out = new Map<number, KernelSample[]>();
  for (const r of rows) {
    const n = r.num_gpus;
    const list = out.get(n) ?? [];
    list.push({
      x: r.message_bytes,
      y: 1,
      bytes: (2 * (n - 1) * r.message_bytes) / n,
      flops: 0,
      seconds: r.latency_us * 1e-6,
    });
    out.set(n, list);
  }
  return out;
}

/** Mean, median and 90th percentile of |relative error| of a curve over samples. */
export interface FitError {
  samples: number;
  mean: number;
  median: number;
  p90: number;
}

/** |relative error| of a curve on each sample, as the simulator evaluates it (compiled per z). */
export function curveRelErrors(
  c: KernelCurve,
  samples: KernelSample[],
  bandwidth: number,
  peak: number,
): number[] {
  const compiled = new Map<number, CompiledCurve>();
  return samples.map((s) => {
    const z = s.z ?? 1;
    let cc = compiled.get(z);
    if (!cc) compiled.set(z, (cc = new CompiledCurve(c, z)));
    return Math.abs(cc.launchS + cc.time(s.x, s.y, s.bytes, s.flops, bandwidth, peak) - s.seconds) / s.seconds;
  });
}

/** Mean, median and 90th percentile of a list of |relative error|s. */
export function summariseErrors(list: number[]): FitError {
  const errs = [...list].sort((a, b) => a - b);
  const n = errs.length;
  return {
    samples: n,
    mean: n ? errs.reduce((a, b) => a + b, 0) / n : 0,
    median: n ? errs[n >> 1] : 0,
    p90: n ? errs[Math.min(n - 1, Math.floor(n * 0.9))] : 0,
  };
}

/** The error of a curve as the simulator evaluates it (compiled onto its octave grid). */
export function curveError(
  c: KernelCurve,
  samples: KernelSample[],
  bandwidth: number,
  peak: number,
): FitError {
  return summariseErrors(curveRelErrors(c, samples, bandwidth, peak));
}

/** Log-spaced efficiency grids the fit searches: bandwidth 1 % to 200 % (L2-resident data beats DRAM), compute 1 % to 100 %. */
const MEM_GRID = Array.from({ length: 96 }, (_, i) => 0.01 * Math.pow(200, i / 95));
const COMPUTE_GRID = Array.from({ length: 80 }, (_, i) => 0.01 * Math.pow(100, i / 79));
/** Coarser grids for the fraction a curve holds constant. */
const MEM_SCALARS = MEM_GRID.filter((_, i) => i % 4 === 0);
const COMPUTE_SCALARS = COMPUTE_GRID.filter((_, i) => i % 4 === 0 || i === COMPUTE_GRID.length - 1);

function meanAbsRel(
  samples: KernelSample[],
  t0: number,
  mem: number,
  cmp: number,
  bw: number,
  peak: number,
): number {
  let s = 0;
  for (const k of samples) {
    const a = k.bytes / (bw * mem);
    const b = k.flops > 0 ? k.flops / (peak * cmp) : 0;
    s += Math.abs(t0 + (a > b ? a : b) - k.seconds) / k.seconds;
  }
  return s / samples.length;
}

const knotOf = (v: number) => Math.round(Math.log2(Math.max(1, v)) * 1000) / 1000;

/**
 * Fits a KernelCurve to samples. Knots sit at each distinct log2 size (x, and y and z where the
 * class has them). Within a knot bytes and FLOPs grow together, so only one of the two fractions can vary
 * by knot: `vary` names it (GEMM and prefill attention: compute; decode attention and all-reduce:
 * memory) and the other is one number for the whole curve. For each candidate launch time (0 up
 * to the fastest call) and constant fraction, each knot takes the varying fraction minimising the
 * mean |relative error| (ties go to the larger fraction, so a bound that never binds stays out of
 * the way); the combination with the least error overall wins. A knot without samples takes its
 * nearest measured neighbour's value along x (then along y).
 */
export function fitKernelCurve(
  samples: KernelSample[],
  bandwidth: number,
  peak: number,
  vary: 'mem' | 'compute' | 'both' = 'both',
  memMax = 2,
): KernelCurve {
  if (samples.length === 0) throw new InputError('no kernel samples to fit');
  const knots = (f: (s: KernelSample) => number) =>
    [...new Set(samples.map((s) => knotOf(f(s))))].sort((a, b) => a - b);
  const xs = knots((s) => s.x);
  const ys = knots((s) => s.y);
  const hasZ = samples.some((s) => s.z !== undefined);
  const zs = hasZ ? knots((s) => s.z ?? 1) : [0];
  const cells: KernelSample[][] = Array.from({ length: xs.length * ys.length * zs.length }, () => []);
  for (const s of samples) {
    const iz = hasZ ? zs.indexOf(knotOf(s.z ?? 1)) : 0;
    cells[(iz * ys.length + ys.indexOf(knotOf(s.y))) * xs.length + xs.indexOf(knotOf(s.x))].push(s);
  }
  const fastest = Math.min(...samples.map((s) => s.seconds));
  const hasFlops = samples.some((s) => s.flops > 0);
  const varyMem = vary === 'mem' || !hasFlops;
  const both = vary === 'both' && hasFlops;
  const memGrid = MEM_GRID.filter((g) => g <= memMax * 1.0001);
  const scalars = both ? [1] : varyMem ? (hasFlops ? COMPUTE_SCALARS : [1]) : MEM_SCALARS;
  const grid = varyMem ? MEM_GRID : COMPUTE_GRID;
  let best: { err: number; curve: KernelCurve } | null = null;
  for (let i = 0; i <= 8; i++) {
    const t0 = (fastest * 0.95 * i) / 8;
    for (const fixed of scalars) {
      const table: number[] = new Array<number>(cells.length).fill(NaN);
      const memTable: number[] = new Array<number>(cells.length).fill(NaN);
      let total = 0;
      cells.forEach((list, j) => {
        if (list.length === 0) return;
        let err = Infinity;
        let v = grid[grid.length - 1];
        let w = fixed;
        if (both) {
          // Memory and compute per knot: the highest compute fraction whose best memory fraction
          // fits within 3 % (relative) of the knot's best: a slow small call is read as memory
          // or latency bound, not as idle tensor cores, unless the data say otherwise.
          const rows = COMPUTE_GRID.map((cg) => {
            let e = Infinity;
            let m = memGrid[0];
            for (const mg of memGrid) {
              const x = meanAbsRel(list, t0, mg, cg, bandwidth, peak);
              if (x <= e) [e, m] = [x, mg];
            }
            return { cg, e, m };
          });
          const least = Math.min(...rows.map((r) => r.e));
          const pick = rows.filter((r) => r.e <= least * 1.03 + 1e-4).pop()!;
          [err, v, w] = [pick.e, pick.cg, pick.m];
          memTable[j] = round4(w);
        } else
          for (const g of grid) {
            const e = varyMem
              ? meanAbsRel(list, t0, g, fixed, bandwidth, peak)
              : meanAbsRel(list, t0, fixed, g, bandwidth, peak);
            if (e <= err) [err, v] = [e, g];
          }
        table[j] = round4(v);
        total += err * list.length;
      });
      if (best && total >= best.err) continue;
      fillGaps(table, xs.length, zs.length);
      if (both) fillGaps(memTable, xs.length, zs.length);
      const constant = both ? memTable : new Array<number>(cells.length).fill(round4(fixed));
      best = {
        err: total,
        curve: {
          launchS: round4(t0 * 1e6) / 1e6,
          log2x: xs,
          log2y: ys,
          ...(hasZ ? { log2z: zs } : {}),
          mem: varyMem ? table : constant,
          compute: varyMem ? (hasFlops ? constant : constant.map(() => 1)) : table,
        },
      };
    }
  }
  return best!.curve;
}

/**
 * Fills NaN cells of a row-major table (`nz` slices of x by y) from the nearest filled cell in
 * their row, else column, within their slice.
 */
function fillGaps(v: number[], nx: number, nz = 1): void {
  const ny = v.length / nx / nz;
  const nearest = (idx: number[]) => (k: number) => {
    let bestD = Infinity;
    let out = NaN;
    for (const j of idx)
      if (!Number.isNaN(v[j]) && Math.abs(j - k) < bestD) [bestD, out] = [Math.abs(j - k), v[j]];
    return out;
  };
  for (let z = 0; z < nz; z++) {
    const base = z * nx * ny;
    for (let y = 0; y < ny; y++) {
      const row = Array.from({ length: nx }, (_, x) => base + y * nx + x);
      const find = nearest(row);
      for (const j of row) if (Number.isNaN(v[j])) v[j] = find(j);
    }
    for (let x = 0; x < nx; x++) {
      const col = Array.from({ length: ny }, (_, y) => base + y * nx + x);
      const find = nearest(col);
      for (const j of col) if (Number.isNaN(v[j])) v[j] = find(j);
    }
  }
}

const round4 = (v: number) => Math.round(v * 1e4) / 1e4;

/**
 * Which fraction varies by knot, per class. GEMM: compute (tile utilisation grows with m) over one
 * streaming bandwidth; decode attention: bandwidth (split-KV parallelism grows with batch and
 * length) under one compute fraction; prefill attention: both, compute preferred. Reading a slow
 * small GEMM as low bandwidth rather than idle tensor cores matters when the curves are carried to
 * a sibling with another FLOPs-to-bandwidth ratio.
 */
const FIT_MODE: Record<Exclude<KernelClass, 'allReduce'>, 'mem' | 'compute' | 'both'> = {
  gemm: 'both',
  contextAttention: 'both',
  generationAttention: 'mem',
};

/** A fitted GPU: its curves and each kernel class's error on the data it was fitted on. */
export interface GpuKernelFit {
  curves: GpuKernelCurves;
  errors: Record<string, FitError>;
}

/**
 * Fits every curve of one measured GPU from its measurement files' rows, against the datasheet
 * numbers of the kvplan preset it was measured on.
 */
export function fitGpuKernels(
  gpuName: string,
  preset: GpuSpec,
  rows: Record<KernelClass, Array<Record<string, number>>>,
): GpuKernelFit {
  const bw = preset.memoryBandwidthGBps * 1e9;
  const peak = preset.bf16Tflops * 1e12;
  const link = preset.interconnectGBps * 1e9;
  const one = (cls: Exclude<KernelClass, 'allReduce'>, list = rows[cls]): KernelCurve =>
    // GEMM operands of 32 MiB and more stream from DRAM: at most the datasheet bandwidth.
    fitKernelCurve(kernelSamples(cls, list), bw, peak, FIT_MODE[cls], cls === 'gemm' ? 1 : 2);
  const allReduce: Record<string, KernelCurve> = {};
  for (const [n, s] of allReduceSamples(rows.allReduce))
    allReduce[String(n)] = fitKernelCurve(s, link, 1, 'mem');
  const { grouped, mha } = splitDecodeRows(rows.generationAttention);
  const curves: GpuKernelCurves = {
    gpu: gpuName,
    preset: preset.id,
    gemm: one('gemm'),
    contextAttention: one('contextAttention'),
    generationAttention: one('generationAttention', grouped.length > 0 ? grouped : mha),
    ...(mha.length > 0 ? { mhaGenerationAttention: one('generationAttention', mha) } : {}),
    allReduce,
  };
  return { curves, errors: kernelCurveErrors(curves, preset, rows) };
}

/** Decode-attention rows of grouped-query shapes and of multi-head ones (as many KV heads as heads). */
export function splitDecodeRows(rows: Array<Record<string, number>>): {
  grouped: Array<Record<string, number>>;
  mha: Array<Record<string, number>>;
} {
  return {
    grouped: rows.filter((r) => r.num_heads !== r.num_kv_heads),
    mha: rows.filter((r) => r.num_heads === r.num_kv_heads),
  };
}

/**
 * Each kernel class's error of a GPU's curves on its measurements (as the simulator evaluates
 * them: decode attention by the curve a model of that shape would use). Decode attention is also
 * reported by path (`generationAttention/grouped`, `generationAttention/mha`).
 */
export function kernelCurveErrors(
  curves: GpuKernelCurves,
  preset: GpuSpec,
  rows: Record<KernelClass, Array<Record<string, number>>>,
): Record<string, FitError> {
  const bw = preset.memoryBandwidthGBps * 1e9;
  const peak = preset.bf16Tflops * 1e12;
  const link = preset.interconnectGBps * 1e9;
  const errors: Record<string, FitError> = {};
  for (const cls of ['gemm', 'contextAttention'] as const)
    errors[cls] = curveError(curves[cls], kernelSamples(cls, rows[cls]), bw, peak);
  const parts = splitDecodeRows(rows.generationAttention);
  const byPart = (list: Array<Record<string, number>>) =>
    list.length === 0
      ? []
      : curveRelErrors(
          decodeAttentionCurve(curves, list[0].num_heads, list[0].num_kv_heads),
          kernelSamples('generationAttention', list),
          bw,
          peak,
        );
  const grouped = byPart(parts.grouped);
  const mha = byPart(parts.mha);
  errors.generationAttention = summariseErrors([...grouped, ...mha]);
  errors['generationAttention/grouped'] = summariseErrors(grouped);
  if (mha.length > 0) errors['generationAttention/mha'] = summariseErrors(mha);
  for (const [n, s] of allReduceSamples(rows.allReduce)) {
    const c = curves.allReduce[String(n)];
    if (c) errors[`allReduce/${n}`] = curveError(c, s, link, 1);
  }
  return errors;
}

/** The median of each knot's efficiencies over several GPUs' curves (knots of the first). */
export function medianCurves(list: GpuKernelCurves[]): GpuKernelCurves {
  const med = (xs: number[]) => {
    const s = [...xs].sort((a, b) => a - b);
    return s.length % 2 ? s[s.length >> 1] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
  };
  const curve = (pick: (g: GpuKernelCurves) => KernelCurve | undefined): KernelCurve => {
    const cs = list.map(pick).filter((c): c is KernelCurve => c !== undefined);
    const { log2x, log2y, log2z } = cs[0];
    const at = (arr: 'mem' | 'compute') =>
      (log2z ?? [0]).flatMap((z) =>
        log2y.flatMap((y) => log2x.map((x) => round4(med(cs.map((c) => interpolate(c, c[arr], x, y, z)))))),
      );
    return {
      launchS: med(cs.map((c) => c.launchS)),
      log2x,
      log2y,
      ...(log2z ? { log2z } : {}),
      mem: at('mem'),
      compute: at('compute'),
    };
  };
  const counts = [...new Set(list.flatMap((g) => Object.keys(g.allReduce)))];
  return {
    gpu: 'generic',
    preset: 'generic',
    gemm: curve((g) => g.gemm),
    contextAttention: curve((g) => g.contextAttention),
    generationAttention: curve((g) => g.generationAttention),
    ...(list.some((g) => g.mhaGenerationAttention)
      ? { mhaGenerationAttention: curve((g) => g.mhaGenerationAttention) }
      : {}),
    allReduce: Object.fromEntries(counts.map((n) => [n, curve((g) => g.allReduce[n])])),
  };
}
