/**
 * vLLM V1's KV block pool at the granularity the simulation needs: a fixed number of blocks,
 * a free queue in LRU order (allocation pops from the head, freed blocks join the tail, a
 * request's blocks in reverse so its tail blocks are evicted first), and a prefix cache of
 * full blocks by chained hash.
 *
 * Only blocks whose content another request can hit are tracked one by one: blocks of a shared
 * prefix group (hash key per group and block index) and the full blocks a preempted request
 * left behind (hit only by that request when it resumes). All other blocks are counted, not
 * named: evicting a block nobody can hit has no effect but the count. This keeps the pool's
 * work per request proportional to its shared blocks, not its length.
 */
interface FreeNode {
  prev: FreeNode | null;
  next: FreeNode | null;
  count: number;
  /** Prefix-group block key, or -1. */
  key: number;
  /** Request whose own full blocks these are (resumable after preemption), or -1. */
  owner: number;
}

interface CachedBlock {
  refCount: number;
  /** Position in the free queue while refCount is 0. */
  node: FreeNode | null;
}

export class BlockPool {
  readonly numBlocks: number;
  private free = 0;
  private peak = 0;
  private head: FreeNode | null = null;
  private tail: FreeNode | null = null;
  private readonly cache = new Map<number, CachedBlock>();
  private readonly ownNodes = new Map<number, FreeNode>();
  /** Cached blocks evicted so far (prefix-cache evictions, for metrics). */
  evictions = 0;

  constructor(numBlocks: number) {
    this.numBlocks = numBlocks;
    if (numBlocks > 0) this.append({ prev: null, next: null, count: numBlocks, key: -1, owner: -1 });
  }

  get freeCount(): number {
    return this.free;
  }

  get usedCount(): number {
    return this.numBlocks - this.free;
  }

  /** Is the shared block `key` in the cache (in use or evictable)? */
  hasCached(key: number): boolean {
    return this.cache.has(key);
  }

  /** Is the shared block `key` cached and unreferenced (sitting in the free queue)? */
  isFree(key: number): boolean {
    return this.cache.get(key)?.refCount === 0;
  }

  /** Takes a reference to a cached shared block (a prefix hit). Requires hasCached(key). */
  acquireCached(key: number): void {
    const c = this.cache.get(key)!;
    if (c.refCount === 0 && c.node) {
      this.unlink(c.node);
      c.node = null;
      if (this.numBlocks - this.free > this.peak) this.peak = this.numBlocks - this.free;
    }
    c.refCount++;
  }

  /** Whether `n` more blocks can be allocated now. */
  canAllocate(n: number): boolean {
    return n <= this.free;
  }

  /** Most blocks in use at once so far. */
  peakUsed(): number {
    return this.peak;
  }

  /** Allocates `n` blocks from the head of the free queue, evicting cached blocks it passes. */
  allocate(n: number): void {
    if (n > this.free) throw new Error(`allocate(${n}) with ${this.free} free`);
    let need = n;
    while (need > 0) {
      const node = this.head!;
      const take = Math.min(need, node.count);
      need -= take;
      node.count -= take;
      this.free -= take;
      if (node.key >= 0 || node.owner >= 0) this.evictions += take;
      if (node.count === 0) {
        this.unlinkOnly(node);
        if (node.key >= 0) this.cache.delete(node.key);
        if (node.owner >= 0) this.ownNodes.delete(node.owner);
      }
    }
    if (this.numBlocks - this.free > this.peak) this.peak = this.numBlocks - this.free;
  }

  /**
   * Registers a freshly allocated block as the shared block `key` (referenced once). Returns
   * false when another request registered the same content first: the block then stays private.
   */
  register(key: number): boolean {
    if (this.cache.has(key)) return false;
    this.cache.set(key, { refCount: 1, node: null });
    return true;
  }

  /** Drops one reference to a shared block; at zero it joins the free queue's tail, still cached. */
  releaseShared(key: number): void {
    const c = this.cache.get(key)!;
    if (--c.refCount === 0) {
      c.node = { prev: null, next: null, count: 1, key, owner: -1 };
      this.append(c.node);
    }
  }

  /** Frees `n` private blocks nobody can hit. */
  releasePrivate(n: number): void {
    if (n <= 0) return;
    const t = this.tail;
    if (t && t.key < 0 && t.owner < 0) {
      t.count += n;
      this.free += n;
    } else this.append({ prev: null, next: null, count: n, key: -1, owner: -1 });
  }

  /** Frees a preempted request's `n` full private blocks, keeping them hittable by that request. */
  releaseOwn(owner: number, n: number): void {
    if (n <= 0) return;
    const node: FreeNode = { prev: null, next: null, count: n, key: -1, owner };
    this.ownNodes.set(owner, node);
    this.append(node);
  }

  /** How many of `owner`'s own full blocks are still cached (its leading ones). */
  ownCached(owner: number): number {
    return this.ownNodes.get(owner)?.count ?? 0;
  }

  /** Re-takes `owner`'s cached blocks (a prefix hit on resume); returns how many. */
  acquireOwn(owner: number): number {
    const node = this.ownNodes.get(owner);
    if (!node) return 0;
    this.ownNodes.delete(owner);
    this.unlink(node);
    return node.count;
  }

  /** Forgets `owner`'s cached blocks (they become anonymous free blocks). */
  forgetOwn(owner: number): void {
    const node = this.ownNodes.get(owner);
    if (!node) return;
    this.ownNodes.delete(owner);
    node.owner = -1;
  }

  private append(node: FreeNode): void {
    node.prev = this.tail;
    node.next = null;
    if (this.tail) this.tail.next = node;
    else this.head = node;
    this.tail = node;
    this.free += node.count;
  }

  private unlink(node: FreeNode): void {
    this.unlinkOnly(node);
    this.free -= node.count;
  }

  private unlinkOnly(node: FreeNode): void {
    if (node.prev) node.prev.next = node.next;
    else this.head = node.next;
    if (node.next) node.next.prev = node.prev;
    else this.tail = node.prev;
    node.prev = node.next = null;
  }
}
