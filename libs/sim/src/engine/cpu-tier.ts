/**
 * The CPU block pool of vLLM's OffloadingConnector, at the granularity the simulation needs.
 *
 * vLLM stores every full block a request computes into the CPU pool (write-through, once per
 * content) and evicts the least recently used when the pool is full; a request whose next blocks
 * are missing on the GPU but present in the pool loads them over PCIe instead of recomputing them.
 *
 * Recency is a clock: every block stored or loaded takes the next tick, and a block is in the
 * pool while fewer than `capacity` ticks have passed since its own. The pool then never holds more
 * than `capacity` blocks, and holds exactly the most recently stored or loaded ones (a block
 * loaded twice uses two ticks, so the pool can hold slightly fewer distinct blocks than an exact
 * LRU). Shared prefix blocks are kept by key; a request's own blocks (hit only by itself after a
 * preemption) are kept as a range per request whose ticks are spread evenly between the one its
 * first block took and the one its last did.
 */
export class CpuKvTier {
  readonly capacity: number;
  private clock = 0;
  /** Tick of each shared block ever stored (at most one entry per distinct prefix block, as the GPU pool's cache). */
  private readonly keyed = new Map<number, number>();
  /** Per request: own-block index of the first block of its range, blocks in it, ticks of its ends. */
  private readonly ownFirst: Int32Array;
  private readonly ownCount: Int32Array;
  private readonly ownStart: Float64Array;
  private readonly ownEnd: Float64Array;

  /** Blocks stored so far; blocks loaded back and their loads (statistics). */
  stored = 0;
  loadedBlocks = 0;
  loads = 0;
  loadSeconds = 0;

  constructor(capacity: number, numRequests: number) {
    this.capacity = capacity;
    this.ownFirst = new Int32Array(numRequests);
    this.ownCount = new Int32Array(numRequests);
    this.ownStart = new Float64Array(numRequests);
    this.ownEnd = new Float64Array(numRequests);
  }

  private live(tick: number): boolean {
    return tick > this.clock - this.capacity;
  }

  /** Is the shared block `key` in the pool? */
  has(key: number): boolean {
    const t = this.keyed.get(key);
    return t !== undefined && this.live(t);
  }

  /** Stores the shared block `key` unless the pool has it. */
  storeKey(key: number): void {
    if (this.has(key)) return;
    this.keyed.set(key, ++this.clock);
    this.stored++;
  }

  /** Marks the shared block `key` as just used (loaded back). */
  touchKey(key: number): void {
    this.keyed.set(key, ++this.clock);
  }

  /** Stores `n` own blocks of requests nobody else can hit (only the clock moves). */
  storeAnonymous(n: number): void {
    this.clock += n;
    this.stored += n;
  }

  /** Starts request r's own range at own-block index `first` (its blocks stored from now on). */
  beginOwn(r: number, first: number): void {
    this.ownFirst[r] = first;
    this.ownCount[r] = 0;
    this.ownStart[r] = this.clock;
  }

  /** Closes r's own range at preemption: its own blocks up to `fullOwn` have been stored by now. */
  endOwn(r: number, fullOwn: number): void {
    this.ownCount[r] = Math.max(0, fullOwn - this.ownFirst[r]);
    this.ownEnd[r] = this.clock;
  }

  /**
   * Own blocks of r the pool can give after the `gpuOwn` leading ones the GPU still holds: the
   * pool's range must start at or before gpuOwn and its blocks from there on be present.
   */
  ownHits(r: number, gpuOwn: number): number {
    const first = this.ownFirst[r];
    const count = this.ownCount[r];
    if (count === 0 || gpuOwn < first || gpuOwn >= first + count) return 0;
    // Tick of block j: spread evenly over (start, end]; the earliest needed is gpuOwn's.
    const start = this.ownStart[r];
    const tick = start + ((this.ownEnd[r] - start) * (gpuOwn - first + 1)) / count;
    return this.live(tick) ? first + count - gpuOwn : 0;
  }

  /** r's own blocks from `from` on were loaded: they take fresh ticks. */
  touchOwn(r: number, from: number, n: number): void {
    this.ownFirst[r] = from;
    this.ownCount[r] = 0;
    this.ownStart[r] = this.clock;
    this.clock += n;
  }
}
