/**
 * Min-heap of (tick, seq) -> request: when each decode-lane member produces its last token,
 * ties in the same tick broken by admission order. Entries carry a stamp so a member that left
 * the lane early is skipped lazily.
 */
export class FinishHeap {
  private ticks = new Float64Array(256);
  private seqs = new Float64Array(256);
  private reqs = new Int32Array(256);
  private stamps = new Int32Array(256);
  size = 0;

  push(tick: number, seq: number, r: number, stamp: number): void {
    if (this.size === this.ticks.length) this.grow();
    let i = this.size++;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (this.ticks[p] < tick || (this.ticks[p] === tick && this.seqs[p] < seq)) break;
      this.move(p, i);
      i = p;
    }
    this.ticks[i] = tick;
    this.seqs[i] = seq;
    this.reqs[i] = r;
    this.stamps[i] = stamp;
  }

  get topTick(): number {
    return this.size > 0 ? this.ticks[0] : Infinity;
  }
  get topReq(): number {
    return this.reqs[0];
  }
  get topStamp(): number {
    return this.stamps[0];
  }

  pop(): void {
    const last = --this.size;
    if (last === 0) return;
    const t = this.ticks[last];
    const s = this.seqs[last];
    const r = this.reqs[last];
    const st = this.stamps[last];
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= last) break;
      const c =
        l + 1 < last &&
        (this.ticks[l + 1] < this.ticks[l] ||
          (this.ticks[l + 1] === this.ticks[l] && this.seqs[l + 1] < this.seqs[l]))
          ? l + 1
          : l;
      if (t < this.ticks[c] || (t === this.ticks[c] && s < this.seqs[c])) break;
      this.move(c, i);
      i = c;
    }
    this.ticks[i] = t;
    this.seqs[i] = s;
    this.reqs[i] = r;
    this.stamps[i] = st;
  }

  private move(from: number, to: number): void {
    this.ticks[to] = this.ticks[from];
    this.seqs[to] = this.seqs[from];
    this.reqs[to] = this.reqs[from];
    this.stamps[to] = this.stamps[from];
  }

  private grow(): void {
    const n = this.ticks.length * 2;
    const t = new Float64Array(n);
    t.set(this.ticks);
    this.ticks = t;
    const s = new Float64Array(n);
    s.set(this.seqs);
    this.seqs = s;
    const r = new Int32Array(n);
    r.set(this.reqs);
    this.reqs = r;
    const st = new Int32Array(n);
    st.set(this.stamps);
    this.stamps = st;
  }
}
