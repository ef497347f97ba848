/**
 * Seeded pseudo-random numbers owned by whoever draws them (a run, a generator, a search):
 * never global, never seeded from a clock. Two generators sit behind one interface, each kept
 * bit for bit so recorded results stay byte-identical: xoshiro128** (the simulator's workloads)
 * and sfc32 (fusion's synthetic samples, sketches and random models).
 */
export interface Rng {
  /** Uniform 32-bit unsigned integer. */
  uint32(): number;
  /** Uniform in [0, 1). */
  next(): number;
  /** Uniform integer in [lo, hi] inclusive. */
  int(lo: number, hi: number): number;
  /** Standard normal (Box-Muller, the spare draw kept for the next call). */
  normal(): number;
  exponential(rate: number): number;
  /** Gamma(shape, scale) by Marsaglia and Tsang. */
  gamma(shape: number, scale: number): number;
  lognormal(median: number, sigma: number): number;
}

/** The distributions every generator derives the same way from its `next()`. */
abstract class SeededRng implements Rng {
  private spareNormal: number | null = null;

  abstract uint32(): number;
  abstract next(): number;

  int(lo: number, hi: number): number {
    return lo + Math.floor(this.next() * (hi - lo + 1));
  }

  normal(): number {
    if (this.spareNormal !== null) {
      const v = this.spareNormal;
      this.spareNormal = null;
      return v;
    }
    let u = 0;
    while (u === 0) u = this.next();
    const v = this.next();
    const r = Math.sqrt(-2 * Math.log(u));
    this.spareNormal = r * Math.sin(2 * Math.PI * v);
    return r * Math.cos(2 * Math.PI * v);
  }

  exponential(rate: number): number {
    let u = 0;
    while (u === 0) u = this.next();
    return -Math.log(u) / rate;
  }

  gamma(shape: number, scale: number): number {
    if (shape < 1) {
      let u = 0;
      while (u === 0) u = this.next();
      return this.gamma(shape + 1, scale) * Math.pow(u, 1 / shape);
    }
    const d = shape - 1 / 3;
    const c = 1 / Math.sqrt(9 * d);
    for (;;) {
      let x: number;
      let v: number;
      do {
        x = this.normal();
        v = 1 + c * x;
      } while (v <= 0);
      v = v * v * v;
      const u = this.next();
      if (u < 1 - 0.0331 * x * x * x * x) return d * v * scale;
      if (Math.log(u) < 0.5 * x * x + d * (1 - v + Math.log(v))) return d * v * scale;
    }
  }

  lognormal(median: number, sigma: number): number {
    return median * Math.exp(sigma * this.normal());
  }

  /** Adds standard-normal draws times `scale` to `out[offset .. offset + length)`. */
  addNormal(out: Float32Array, scale: number, offset = 0, length = out.length - offset): void {
    for (let i = 0; i < length; i++) out[offset + i] += scale * this.normal();
  }

  /**
   * Adds standard-normal noise times `scale`, two draws per 32-bit word from a fixed table of
   * 65,536 normal samples (sorted, rescaled to unit variance): several times faster than
   * Box-Muller, for the bulk noise of large synthetic samples.
   */
  addTableNoise(out: Float32Array, scale: number, offset = 0, length = out.length - offset): void {
    const t = normalTable();
    const end = offset + length;
    let i = offset;
    for (; i + 1 < end; i += 2) {
      const u = this.uint32();
      out[i] += scale * t[u & 0xffff];
      out[i + 1] += scale * t[u >>> 16];
    }
    if (i < end) out[i] += scale * t[this.uint32() & 0xffff];
  }
}

/** xoshiro128**, seeded through splitmix32; `next()` takes 53 bits from two words. */
export class Xoshiro128ss extends SeededRng {
  private s0: number;
  private s1: number;
  private s2: number;
  private s3: number;

  constructor(seed: number) {
    super();
    let x = seed >>> 0 || 0x9e3779b9;
    const next = (): number => {
      x = (x + 0x9e3779b9) >>> 0;
      let z = x;
      z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
      z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
      return (z ^ (z >>> 16)) >>> 0;
    };
    this.s0 = next();
    this.s1 = next();
    this.s2 = next();
    this.s3 = next();
  }

  uint32(): number {
    const result = Math.imul(rotl(Math.imul(this.s1, 5) >>> 0, 7), 9) >>> 0;
    const t = (this.s1 << 9) >>> 0;
    this.s2 ^= this.s0;
    this.s3 ^= this.s1;
    this.s1 ^= this.s2;
    this.s0 ^= this.s3;
    this.s2 ^= t;
    this.s3 = rotl(this.s3, 11);
    return result;
  }

  next(): number {
    const hi = this.uint32() >>> 5;
    const lo = this.uint32() >>> 6;
    return (hi * 67108864 + lo) / 9007199254740992;
  }
}

/** sfc32, seeded through a splitmix-style mixer and 12 warm-up draws; `next()` has 32 bits. */
export class Sfc32 extends SeededRng {
  private a: number;
  private b: number;
  private c: number;
  private d: number;

  constructor(seed: number) {
    super();
    let x = (seed >>> 0) ^ 0x5bd1e995;
    const mix = (): number => {
      x = (x + 0x9e3779b9) >>> 0;
      let z = x;
      z = Math.imul(z ^ (z >>> 15), 0x2c1b3c6d) >>> 0;
      z = Math.imul(z ^ (z >>> 12), 0x297a2d39) >>> 0;
      return (z ^ (z >>> 15)) >>> 0;
    };
    this.a = mix();
    this.b = mix();
    this.c = mix();
    this.d = mix();
    for (let i = 0; i < 12; i++) this.uint32();
  }

  uint32(): number {
    const t = (((this.a + this.b) >>> 0) + this.d) >>> 0;
    this.d = (this.d + 1) >>> 0;
    this.a = this.b ^ (this.b >>> 9);
    this.b = (this.c + (this.c << 3)) >>> 0;
    this.c = ((this.c << 21) | (this.c >>> 11)) >>> 0;
    this.c = (this.c + t) >>> 0;
    return t;
  }

  next(): number {
    return this.uint32() / 4294967296;
  }
}

function rotl(x: number, k: number): number {
  return ((x << k) | (x >>> (32 - k))) >>> 0;
}

let table: Float32Array | null = null;
function normalTable(): Float32Array {
  if (!table) {
    const rng = new Sfc32(0x7a81);
    const xs = new Float64Array(65536);
    for (let i = 0; i < xs.length; i++) xs[i] = rng.normal();
    xs.sort();
    let m = 0;
    for (const x of xs) m += x;
    m /= xs.length;
    let v = 0;
    for (const x of xs) v += (x - m) * (x - m);
    const sd = Math.sqrt(v / xs.length);
    table = Float32Array.from(xs, (x) => (x - m) / sd);
  }
  return table;
}
