/**
 * A small seeded PRNG owned by its caller (sfc32 state, seeded through a splitmix-style mixer).
 * libs/fusion is a leaf and may not import libs/sim's Rng, so it carries its own.
 */
export class FusionRng {
  private a: number;
  private b: number;
  private c: number;
  private d: number;
  private spare: number | null = null;

  constructor(seed: number) {
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

  /** Uniform in [0, 1) (32 bits). */
  next(): number {
    return this.uint32() / 4294967296;
  }

  /** Uniform integer in [lo, hi] inclusive. */
  int(lo: number, hi: number): number {
    return lo + Math.floor(this.next() * (hi - lo + 1));
  }

  normal(): number {
    if (this.spare !== null) {
      const v = this.spare;
      this.spare = null;
      return v;
    }
    let u = 0;
    while (u === 0) u = this.next();
    const v = this.next();
    const r = Math.sqrt(-2 * Math.log(u));
    this.spare = r * Math.sin(2 * Math.PI * v);
    return r * Math.cos(2 * Math.PI * v);
  }

  /** Fills `out` with standard normal draws scaled by `scale` and added to what is there. */
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

let table: Float32Array | null = null;
function normalTable(): Float32Array {
  if (!table) {
    const rng = new FusionRng(0x7a81);
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
