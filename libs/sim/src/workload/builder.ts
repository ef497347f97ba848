import type { Workload } from '../types';

/** Interns strings to dense indices (tenant and prefix-group names). */
export class NameTable {
  readonly names: string[] = [];
  private readonly index = new Map<string, number>();
  id(name: string): number {
    let i = this.index.get(name);
    if (i === undefined) {
      i = this.names.length;
      this.names.push(name);
      this.index.set(name, i);
    }
    return i;
  }
}

/**
 * Appends requests into growable typed-array columns, then hands back a compact, arrival-sorted
 * Workload. Optional columns (request ids, stage) exist only when asked for at construction.
 */
export class WorkloadBuilder {
  n = 0;
  private cap: number;
  arrivalS: Float64Array;
  inputTokens: Int32Array;
  outputTokens: Int32Array;
  prefixGroup: Int32Array;
  prefixTokens: Int32Array;
  tenant: Int32Array;
  stage: Int32Array | null;
  requestIds: string[] | null;
  readonly tenants = new NameTable();
  readonly prefixGroups = new NameTable();

  constructor(opts: { capacity?: number; requestIds?: boolean; stage?: boolean } = {}) {
    this.cap = Math.max(16, opts.capacity ?? 1024);
    this.arrivalS = new Float64Array(this.cap);
    this.inputTokens = new Int32Array(this.cap);
    this.outputTokens = new Int32Array(this.cap);
    this.prefixGroup = new Int32Array(this.cap);
    this.prefixTokens = new Int32Array(this.cap);
    this.tenant = new Int32Array(this.cap);
    this.stage = opts.stage ? new Int32Array(this.cap) : null;
    this.requestIds = opts.requestIds ? [] : null;
  }

  /** Appends one request; returns its row index. Integer columns take -1 for "none". */
  push(
    arrivalS: number,
    inputTokens: number,
    outputTokens: number,
    prefixGroup = -1,
    prefixTokens = 0,
    tenant = -1,
    stage = -1,
    requestId?: string,
  ): number {
    if (this.n === this.cap) this.grow(this.cap * 2);
    const i = this.n++;
    this.arrivalS[i] = arrivalS;
    this.inputTokens[i] = inputTokens;
    this.outputTokens[i] = outputTokens;
    this.prefixGroup[i] = prefixGroup;
    this.prefixTokens[i] = prefixTokens;
    this.tenant[i] = tenant;
    if (this.stage) this.stage[i] = stage;
    if (this.requestIds) this.requestIds.push(requestId ?? String(i));
    return i;
  }

  /** Adds the request-id column if absent; earlier rows get their row index as id. */
  enableRequestIds(): void {
    if (this.requestIds) return;
    this.requestIds = Array.from({ length: this.n }, (_, i) => String(i));
  }

  /** Adds the stage column if absent; earlier rows get -1 (none). */
  enableStage(): void {
    if (this.stage) return;
    this.stage = new Int32Array(this.cap).fill(-1);
  }

  private grow(cap: number): void {
    const g64 = (a: Float64Array): Float64Array => {
      const b = new Float64Array(cap);
      b.set(a);
      return b;
    };
    const g32 = (a: Int32Array): Int32Array => {
      const b = new Int32Array(cap);
      b.set(a);
      return b;
    };
    this.arrivalS = g64(this.arrivalS);
    this.inputTokens = g32(this.inputTokens);
    this.outputTokens = g32(this.outputTokens);
    this.prefixGroup = g32(this.prefixGroup);
    this.prefixTokens = g32(this.prefixTokens);
    this.tenant = g32(this.tenant);
    if (this.stage) this.stage = g32(this.stage);
    this.cap = cap;
  }

  /**
   * The finished Workload: columns trimmed to n and rows stably sorted by arrival time (rows
   * with equal arrival keep their input order). Sorting only happens when the rows are not
   * already in order.
   */
  build(): Workload {
    const n = this.n;
    const w: Workload = {
      n,
      arrivalS: this.arrivalS.slice(0, n),
      inputTokens: this.inputTokens.slice(0, n),
      outputTokens: this.outputTokens.slice(0, n),
      prefixGroup: this.prefixGroup.slice(0, n),
      prefixTokens: this.prefixTokens.slice(0, n),
      tenant: this.tenant.slice(0, n),
      tenantNames: this.tenants.names.slice(),
      prefixGroupNames: this.prefixGroups.names.slice(),
    };
    if (this.requestIds) w.requestIds = this.requestIds.slice(0, n);
    if (this.stage) w.stage = this.stage.slice(0, n);
    return sortByArrival(w);
  }
}

/** True when arrivals never decrease. */
export function isSortedByArrival(a: Float64Array): boolean {
  for (let i = 1; i < a.length; i++) if (a[i] < a[i - 1]) return false;
  return true;
}

/** Stable sort of every column by arrival time; returns `w` itself when already sorted. */
export function sortByArrival(w: Workload): Workload {
  if (isSortedByArrival(w.arrivalS)) return w;
  const order = new Uint32Array(w.n);
  for (let i = 0; i < w.n; i++) order[i] = i;
  const t = w.arrivalS;
  // A typed-array sort with a comparator is not guaranteed stable; the index tie-break makes it so.
  order.sort((a, b) => t[a] - t[b] || a - b);
  return selectRows(w, order);
}

/** A new Workload holding rows `rows` of `w`, in that order. Name tables are shared as is. */
export function selectRows(w: Workload, rows: ArrayLike<number>): Workload {
  const m = rows.length;
  const pick64 = (a: Float64Array): Float64Array => {
    const b = new Float64Array(m);
    for (let i = 0; i < m; i++) b[i] = a[rows[i]];
    return b;
  };
  const pick32 = (a: Int32Array): Int32Array => {
    const b = new Int32Array(m);
    for (let i = 0; i < m; i++) b[i] = a[rows[i]];
    return b;
  };
  const out: Workload = {
    n: m,
    arrivalS: pick64(w.arrivalS),
    inputTokens: pick32(w.inputTokens),
    outputTokens: pick32(w.outputTokens),
    prefixGroup: pick32(w.prefixGroup),
    prefixTokens: pick32(w.prefixTokens),
    tenant: pick32(w.tenant),
    tenantNames: w.tenantNames,
    prefixGroupNames: w.prefixGroupNames,
  };
  if (w.requestIds) {
    const ids = w.requestIds;
    out.requestIds = Array.from({ length: m }, (_, i) => ids[rows[i]]);
  }
  if (w.stage) out.stage = pick32(w.stage);
  return out;
}
