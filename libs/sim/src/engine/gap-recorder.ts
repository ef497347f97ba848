/**
 * Inter-token gaps without one entry per token: every request that produced a token in the
 * previous step and again in this one shares this step's duration as its gap, so a step adds one
 * weighted entry; only other gaps (after a preemption, a skipped step) are stored one by one.
 */
export class GapRecorder {
  values = new Float64Array(1024);
  weights = new Float64Array(1024);
  length = 0;

  add(value: number, weight: number): void {
    if (weight <= 0) return;
    if (this.length === this.values.length) {
      const v = new Float64Array(this.length * 2);
      v.set(this.values);
      this.values = v;
      const w = new Float64Array(this.length * 2);
      w.set(this.weights);
      this.weights = w;
    }
    this.values[this.length] = value;
    this.weights[this.length] = weight;
    this.length++;
  }
}
