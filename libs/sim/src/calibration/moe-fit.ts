import { InputError } from '@kvplan/core';
import { octaves, type KernelCurve } from '../hardware/kernel-curves';
import { CompiledMoeCurve, moeRouteBytes, type MoeCurve } from '../hardware/moe-curves';
import type { GpuSpec } from '../types';
import { summariseErrors, type FitError } from './kernel-fit';

/** One measured fused-MoE call, as the step-time model sees it (one rank, one layer). */
export interface MoeSample {
  /** Routes per touched expert on this rank. */
  x: number;
  /** Experts touched on this rank. */
  y: number;
  /** The touched experts' BF16 weights. */
  bytes: number;
  /** 2 FLOPs per weight per route on this rank. */
  flops: number;
  /** Routes of the whole batch (tokens x top-k), this rank's or not. */
  routes: number;
  /** Their activation traffic (moeRouteBytes each). */
  routeBytes: number;
  /** hidden x inter: the size of one expert's matrices (elements). */
  size: number;
  seconds: number;
}

/**
 * What one measured call did: `local` = tokens x topk / ep_size routes to this rank's
 * num_experts / ep_size experts, evenly, so min(experts, local) of them are touched (at least
 * one); bytes are the touched experts' BF16 weights (3 x hidden x inter each), FLOPs 2 x 3 x
 * hidden x inter per local route; every route of the batch (tokens x topk) moves moeRouteBytes.
 * Features as measured (the curve interpolates between its octave knots, as the simulator reads it).
 */
export function moeSamples(rows: Array<Record<string, number>>): MoeSample[] {
  return rows.map((r) => {
    const localExperts = r.num_experts / r.ep_size;
    const local = (r.num_tokens * r.topk) / r.ep_size;
    const touched = Math.max(1, Math.min(localExperts, local));
    const expert = 3 * r.hidden_size * r.inter_size;
    const routes = r.num_tokens * r.topk;
    return {
      x: local / touched,
      y: touched,
      bytes: 2 * touched * expert,
      flops: 2 * expert * local,
      routes,
      routeBytes: routes * moeRouteBytes(r.hidden_size, r.inter_size),
      size: r.hidden_size * r.inter_size,
      seconds: r.latency_us * 1e-6,
    };
  });
}

/** |relative error| of a MoE curve on each sample, as the step-time model evaluates it. */
export function moeRelErrors(c: MoeCurve, samples: MoeSample[], bandwidth: number, peak: number): number[] {
  const compiled = new Map<number, CompiledMoeCurve>();
  return samples.map((s) => {
    let cc = compiled.get(s.size);
    if (!cc) compiled.set(s.size, (cc = new CompiledMoeCurve(c, s.size)));
    return (
      Math.abs(
        cc.launchS + cc.time(s.x, s.y, s.bytes, s.flops, s.routes, s.routeBytes, bandwidth, peak) - s.seconds,
      ) / s.seconds
    );
  });
}

export function moeCurveError(c: MoeCurve, samples: MoeSample[], bandwidth: number, peak: number): FitError {
  return summariseErrors(moeRelErrors(c, samples, bandwidth, peak));
}

/** A measured call's shape: the model's expert layer and the expert-parallel size (all token counts). */
export const moeShapeKey = (r: Record<string, number>): string =>
  [r.hidden_size, r.inter_size, r.topk, r.num_experts, r.ep_size].join('/');

/**
 * Whether a measured call belongs to the held-out fifth: every fifth shape (moeShapeKey, in
 * numeric order), with all its token counts, so the held-out error is on shapes the fit never saw.
 */
export function moeHoldoutShape(rows: Array<Record<string, number>>): (r: Record<string, number>) => boolean {
  const keys = [...new Set(rows.map(moeShapeKey))].sort((a, b) => {
    const pa = a.split('/').map(Number);
    const pb = b.split('/').map(Number);
    for (let i = 0; i < pa.length; i++) if (pa[i] !== pb[i]) return pa[i] - pb[i];
    return 0;
  });
  const held = new Set(keys.filter((_, i) => i % 5 === 2));
  return (r) => held.has(moeShapeKey(r));
}

/** Bounds of the fitted fractions (of the datasheet bandwidth; of the BF16 peak for compute). */
const MEM_RANGE = [0.005, 2] as const;
const COMPUTE_RANGE = [0.005, 1] as const;
const ROUTE_RANGE = [0.01, 2] as const;
/** Weight of the smoothness penalty (squared second differences of the log fractions). */
const SMOOTH = 3e-4;
const ITERATIONS = 4000;
/** Whether the experts' table has a third axis, the expert's size (hidden x inter). */
const SIZE_AXIS = true;

/** Knot position (and weight toward the next knot) of v on whole octaves k0..k0+n-1. */
function knot(v: number, k0: number, n: number): [number, number] {
  let f = octaves(v) - k0;
  if (f < 0) f = 0;
  else if (f > n - 1) f = n - 1;
  let i = f | 0;
  if (i === n - 1) i--;
  return [i, f - i];
}

const sig4 = (v: number) => Number(v.toPrecision(4));

/**
 * Fits a GPU's fused-MoE curve on its measurement rows. Knots on whole octaves (what the
 * simulator compiles them to): routes per touched expert x experts touched x the expert's size
 * (hidden x inter; small experts stream their weights less efficiently, and vLLM's tuned kernel
 * configurations differ by shape) for the experts' fractions, the batch's routes for the route
 * traffic's. The log fractions and the launch time minimise the mean |relative error| (smoothed
 * near 0) of the curve as the simulator evaluates it (bilinear between knots in octaves(),
 * linear in log2 between size slices), plus a small penalty on their second differences that
 * keeps knots with few or no calls in line with their neighbours; by Adam from every fraction
 * at 0.5, deterministic.
 */
export function fitMoeCurve(
  rows: Array<Record<string, number>>,
  preset: GpuSpec,
  opts: { smooth?: number; iterations?: number; sizeAxis?: boolean } = {},
): { moe: MoeCurve; error: FitError } {
  const smooth = opts.smooth ?? SMOOTH;
  const iterations = opts.iterations ?? ITERATIONS;
  const bw = preset.memoryBandwidthGBps * 1e9;
  const peak = preset.bf16Tflops * 1e12;
  const samples = moeSamples(rows);
  if (samples.length === 0) throw new InputError('no fused-MoE samples to fit');
  const top = (f: (s: MoeSample) => number) => Math.max(1, Math.ceil(Math.log2(Math.max(...samples.map(f)))));
  const nx = top((s) => s.x) + 1;
  const ny = top((s) => s.y) + 1;
  const z0 = Math.floor(Math.log2(Math.max(1, Math.min(...samples.map((s) => s.routes)))));
  const nz = Math.max(2, top((s) => s.routes) - z0 + 1);
  const nxy = nx * ny;
  // Expert size (hidden x inter) slices on whole octaves, linear in log2 between them (the
  // step-time model cuts the table once at its model's size); one slice when the axis is off.
  const sizeAxis = opts.sizeAxis ?? SIZE_AXIS;
  const logSize = (s: MoeSample) => Math.log2(s.size);
  const s0 = sizeAxis ? Math.floor(Math.min(...samples.map(logSize))) : 0;
  const ns = sizeAxis ? Math.max(2, Math.ceil(Math.max(...samples.map(logSize))) - s0 + 1) : 1;
  const nE = nxy * ns;
  const nParams = 2 * nE + nz + 1;
  // Parameters: log mem fractions, log compute fractions (by size, then y, then x), log route
  // fractions, launch (us).
  const p = new Float64Array(nParams).fill(Math.log(0.5));
  const fastest = Math.min(...samples.map((s) => s.seconds));
  const launchMax = fastest * 0.95 * 1e6;
  p[nParams - 1] = launchMax / 2;
  const lo = new Float64Array(nParams);
  const hi = new Float64Array(nParams);
  for (let k = 0; k < nParams; k++) {
    const [a, b] =
      k < nE ? MEM_RANGE : k < 2 * nE ? COMPUTE_RANGE : k < nParams - 1 ? ROUTE_RANGE : [0, launchMax];
    [lo[k], hi[k]] = k < nParams - 1 ? [Math.log(a), Math.log(b)] : [a, b];
  }
  // Each sample's experts-table corners (4, or 8 with the size axis) and route knots, once.
  const n = samples.length;
  const nc = ns > 1 ? 8 : 4;
  const corners = new Int32Array(n * 8);
  const weights = new Float64Array(n * 8);
  const iz = new Int32Array(n);
  const tz = new Float64Array(n);
  samples.forEach((s, i) => {
    const [ix, tx] = knot(s.x, 0, nx);
    const [iy, ty] = knot(s.y, 0, ny);
    let is = 0;
    let ts = 0;
    if (ns > 1) {
      const f = Math.min(ns - 1, Math.max(0, logSize(s) - s0));
      is = Math.min(ns - 2, Math.floor(f));
      ts = f - is;
    }
    let c = 0;
    for (let ds = 0; ds < (ns > 1 ? 2 : 1); ds++)
      for (let dy = 0; dy < 2; dy++)
        for (let dx = 0; dx < 2; dx++) {
          corners[i * 8 + c] = ((is + ds) * ny + iy + dy) * nx + ix + dx;
          weights[i * 8 + c] = (ns > 1 ? (ds ? ts : 1 - ts) : 1) * (dy ? ty : 1 - ty) * (dx ? tx : 1 - tx);
          c++;
        }
    [iz[i], tz[i]] = knot(s.routes, z0, nz);
  });
  const grad = new Float64Array(nParams);
  const m1 = new Float64Array(nParams);
  const m2 = new Float64Array(nParams);
  const e = new Float64Array(nParams);
  const delta = 0.005;
  // Smoothness: squared second differences of both tables along x, y and size, and along the routes.
  const triples: Array<[number, number, number]> = [];
  const at = (base: number, z: number, y: number, x: number) => base + (z * ny + y) * nx + x;
  for (const base of [0, nE])
    for (let z = 0; z < ns; z++)
      for (let y = 0; y < ny; y++)
        for (let x = 0; x < nx; x++) {
          if (x > 0 && x < nx - 1)
            triples.push([at(base, z, y, x - 1), at(base, z, y, x), at(base, z, y, x + 1)]);
          if (y > 0 && y < ny - 1)
            triples.push([at(base, z, y - 1, x), at(base, z, y, x), at(base, z, y + 1, x)]);
          if (z > 0 && z < ns - 1)
            triples.push([at(base, z - 1, y, x), at(base, z, y, x), at(base, z + 1, y, x)]);
        }
  for (let z = 1; z < nz - 1; z++) triples.push([2 * nE + z - 1, 2 * nE + z, 2 * nE + z + 1]);
  const lr0 = 0.05;
  for (let it = 0; it < iterations; it++) {
    for (let k = 0; k < nParams - 1; k++) e[k] = Math.exp(p[k]);
    grad.fill(0);
    const launch = p[nParams - 1] * 1e-6;
    for (let i = 0; i < n; i++) {
      const s = samples[i];
      const o = i * 8;
      let em = 0;
      let ec = 0;
      for (let c = 0; c < nc; c++) {
        em += weights[o + c] * e[corners[o + c]];
        ec += weights[o + c] * e[nE + corners[o + c]];
      }
      const tm = s.bytes / (bw * em);
      const tc = s.flops > 0 ? s.flops / (peak * ec) : 0;
      const zk = 2 * nE + iz[i];
      const es = (1 - tz[i]) * e[zk] + tz[i] * e[zk + 1];
      const ts = s.routeBytes / (bw * es);
      const pred = launch + (tm > tc ? tm : tc) + ts;
      const r = pred / s.seconds - 1;
      const g = r / Math.sqrt(r * r + delta * delta) / (n * s.seconds);
      // d pred / d log fraction_k = -t / fraction x weight_k x fraction_k.
      const off = tm >= tc ? 0 : nE;
      const q = tm >= tc ? (-g * tm) / em : (-g * tc) / ec;
      for (let c = 0; c < nc; c++) {
        const k = off + corners[o + c];
        grad[k] += q * weights[o + c] * e[k];
      }
      const qs = (-g * ts) / es;
      grad[zk] += qs * (1 - tz[i]) * e[zk];
      grad[zk + 1] += qs * tz[i] * e[zk + 1];
      grad[nParams - 1] += g * 1e-6;
    }
    for (const [u, v, w] of triples) {
      const d = 2 * smooth * (p[u] - 2 * p[v] + p[w]);
      grad[u] += d;
      grad[v] -= 2 * d;
      grad[w] += d;
    }
    const lr = lr0 * (it < iterations / 2 ? 1 : 0.2);
    for (let k = 0; k < nParams; k++) {
      m1[k] = 0.9 * m1[k] + 0.1 * grad[k];
      m2[k] = 0.999 * m2[k] + 0.001 * grad[k] * grad[k];
      const step =
        ((k === nParams - 1 ? launchMax / 10 : 1) * lr * (m1[k] / (1 - 0.9 ** (it + 1)))) /
        (Math.sqrt(m2[k] / (1 - 0.999 ** (it + 1))) + 1e-12);
      p[k] = Math.min(hi[k], Math.max(lo[k], p[k] - step));
    }
  }
  const frac = (from: number, count: number) =>
    Array.from({ length: count }, (_, k) => sig4(Math.exp(p[from + k])));
  const octs = (from: number, count: number) => Array.from({ length: count }, (_, k) => from + k);
  const experts: KernelCurve = {
    launchS: sig4(p[nParams - 1]) * 1e-6,
    log2x: octs(0, nx),
    log2y: octs(0, ny),
    ...(ns > 1 ? { log2z: octs(s0, ns) } : {}),
    mem: frac(0, nE),
    compute: frac(nE, nE),
  };
  const routes: KernelCurve = {
    launchS: 0,
    log2x: octs(z0, nz),
    log2y: [0],
    mem: frac(2 * nE, nz),
    compute: new Array<number>(nz).fill(1),
  };
  const moe = { experts, routes };
  return { moe, error: moeCurveError(moe, samples, bw, peak) };
}
