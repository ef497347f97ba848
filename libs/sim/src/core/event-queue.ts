/**
 * The simulator's clock and event heap. Events are ordered by (time, priority, sequence): ties
 * in time break by priority (lower first), then by insertion order. The sequence counter belongs
 * to the queue, so two runs with the same inputs pop events in the same order.
 *
 * An event is a small integer `kind` and an integer `target` (a replica index, a request index):
 * the owner dispatches on them. Stored in parallel arrays to keep the heap allocation-free.
 */
export class EventQueue {
  private times = new Float64Array(64);
  private prios = new Int32Array(64);
  private seqs = new Float64Array(64);
  private kinds = new Int32Array(64);
  private targets = new Int32Array(64);
  private size = 0;
  private nextSeq = 0;
  private clock = 0;

  get now(): number {
    return this.clock;
  }

  get length(): number {
    return this.size;
  }

  /** Schedules an event. Scheduling in the past is a bug and throws. */
  push(time: number, priority: number, kind: number, target: number): void {
    if (!(time >= this.clock)) throw new Error(`event scheduled in the past: ${time} < ${this.clock}`);
    if (this.size === this.times.length) this.grow();
    let i = this.size++;
    const seq = this.nextSeq++;
    // Sift up.
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!this.less(time, priority, seq, p)) break;
      this.move(p, i);
      i = p;
    }
    this.set(i, time, priority, seq, kind, target);
  }

  peekTime(): number {
    return this.size > 0 ? this.times[0] : Infinity;
  }

  /** Pops the next event, advances the clock to it and returns its index-free copy. */
  pop(out: { time: number; kind: number; target: number }): boolean {
    if (this.size === 0) return false;
    out.time = this.times[0];
    out.kind = this.kinds[0];
    out.target = this.targets[0];
    this.clock = out.time;
    const last = --this.size;
    if (last > 0) {
      const t = this.times[last];
      const pr = this.prios[last];
      const sq = this.seqs[last];
      const k = this.kinds[last];
      const tg = this.targets[last];
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        if (l >= last) break;
        const r = l + 1;
        const c = r < last && this.lessAt(r, l) ? r : l;
        if (!this.lessAt2(c, t, pr, sq)) break;
        this.move(c, i);
        i = c;
      }
      this.set(i, t, pr, sq, k, tg);
    }
    return true;
  }

  private less(time: number, prio: number, seq: number, j: number): boolean {
    const tj = this.times[j];
    if (time !== tj) return time < tj;
    const pj = this.prios[j];
    if (prio !== pj) return prio < pj;
    return seq < this.seqs[j];
  }

  private lessAt(a: number, b: number): boolean {
    return this.less(this.times[a], this.prios[a], this.seqs[a], b);
  }

  /** Is the entry at j ordered before (time, prio, seq)? */
  private lessAt2(j: number, time: number, prio: number, seq: number): boolean {
    const tj = this.times[j];
    if (tj !== time) return tj < time;
    const pj = this.prios[j];
    if (pj !== prio) return pj < prio;
    return this.seqs[j] < seq;
  }

  private move(from: number, to: number): void {
    this.times[to] = this.times[from];
    this.prios[to] = this.prios[from];
    this.seqs[to] = this.seqs[from];
    this.kinds[to] = this.kinds[from];
    this.targets[to] = this.targets[from];
  }

  private set(i: number, time: number, prio: number, seq: number, kind: number, target: number): void {
    this.times[i] = time;
    this.prios[i] = prio;
    this.seqs[i] = seq;
    this.kinds[i] = kind;
    this.targets[i] = target;
  }

  private grow(): void {
    const n = this.times.length * 2;
    const g = <T extends Float64Array | Int32Array>(a: T, C: new (n: number) => T): T => {
      const b = new C(n);
      b.set(a);
      return b;
    };
    this.times = g(this.times, Float64Array);
    this.prios = g(this.prios, Int32Array);
    this.seqs = g(this.seqs, Float64Array);
    this.kinds = g(this.kinds, Int32Array);
    this.targets = g(this.targets, Int32Array);
  }
}
