import { summarizeChunks, type Summary, type WeightedChunk } from '../metrics/stats';

/** Entries per storage chunk (1 MiB of values, 512 KiB of weights). */
const CHUNK = 1 << 17;

/**
 * Inter-token gaps without one entry per token: every request that produced a token in the
 * previous step and again in this one shares this step's duration as its gap, so a step adds one
 * weighted entry; only other gaps (after a preemption, a skipped step) are stored one by one.
 * Entries go into fixed-size chunks: a long run (millions of steps) never reallocates and copies
 * what it has recorded, touches only the memory it fills, and is summarised where it lies.
 */
export class GapRecorder {
  private readonly chunks: WeightedChunk[] = [];
  private v = new Float64Array(0);
  private w = new Uint32Array(0);
  private i = 0;
  length = 0;

  /** One gap of `value` seconds shared by `weight` tokens (an integer; 0 records nothing). */
  add(value: number, weight: number): void {
    if (weight <= 0) return;
    if (this.i === this.v.length) {
      if (this.chunks.length > 0) this.chunks[this.chunks.length - 1].n = this.i;
      this.v = new Float64Array(CHUNK);
      this.w = new Uint32Array(CHUNK);
      this.chunks.push({ values: this.v, weights: this.w, n: 0 });
      this.i = 0;
    }
    this.v[this.i] = value;
    this.w[this.i] = weight;
    this.i++;
    this.length++;
  }

  /** Mean, std and percentiles over every token's gap, times `scale` (1000: milliseconds). */
  summary(scale = 1): Summary {
    if (this.chunks.length > 0) this.chunks[this.chunks.length - 1].n = this.i;
    return summarizeChunks(this.chunks, scale);
  }
}
