/** Entries per storage chunk (1 MiB of values and 1 MiB of weights). */
const CHUNK = 1 << 17;

/**
 * Inter-token gaps without one entry per token: every request that produced a token in the
 * previous step and again in this one shares this step's duration as its gap, so a step adds one
 * weighted entry; only other gaps (after a preemption, a skipped step) are stored one by one.
 * Entries go into fixed-size chunks: a long run (millions of steps) never reallocates and copies
 * what it has recorded, and touches only the memory it fills.
 */
export class GapRecorder {
  private values: Float64Array[] = [new Float64Array(CHUNK)];
  private weights: Float64Array[] = [new Float64Array(CHUNK)];
  private v = this.values[0];
  private w = this.weights[0];
  private i = 0;
  length = 0;

  add(value: number, weight: number): void {
    if (weight <= 0) return;
    if (this.i === CHUNK) {
      this.v = new Float64Array(CHUNK);
      this.w = new Float64Array(CHUNK);
      this.values.push(this.v);
      this.weights.push(this.w);
      this.i = 0;
    }
    this.v[this.i] = value;
    this.w[this.i] = weight;
    this.i++;
    this.length++;
  }

  /** Every recorded gap times `scale`, and its weight, as arrays of exactly `length` entries. */
  collect(scale = 1): { values: Float64Array; weights: Float64Array } {
    const values = new Float64Array(this.length);
    const weights = new Float64Array(this.length);
    let at = 0;
    this.values.forEach((chunk, c) => {
      const n = Math.min(CHUNK, this.length - at);
      const wc = this.weights[c];
      for (let k = 0; k < n; k++) values[at + k] = chunk[k] * scale;
      weights.set(n === CHUNK ? wc : wc.subarray(0, n), at);
      at += n;
    });
    return { values, weights };
  }
}
