import type { Workload } from '../types';

/** Request lifecycle states. */
export const enum ReqState {
  Pending = 0,
  Waiting = 1,
  Running = 2,
  Done = 3,
  Failed = 4,
}

/**
 * Per-request state of one run, as columns indexed by the workload row. Owned by the run; the
 * replicas update it in place.
 */
export class RequestTable {
  readonly n: number;
  readonly workload: Workload;
  readonly state: Uint8Array;
  readonly replica: Int32Array;
  readonly numComputed: Int32Array;
  readonly numOutput: Int32Array;
  /** Private blocks held (not shared through the prefix cache). */
  readonly ownBlocks: Int32Array;
  /** Shared prefix blocks held, by key, in block order (only for requests of a prefix group). */
  readonly sharedKeys: (number[] | null)[];
  /** Shared blocks held when last preempted (so a resume can re-hit its own blocks after them). */
  readonly sharedAtPreempt: Int32Array;
  readonly firstTokenS: Float64Array;
  readonly lastTokenS: Float64Array;
  readonly finishS: Float64Array;
  readonly preemptions: Int32Array;
  readonly prefixHitTokens: Int32Array;
  /** Prompt tokens loaded from the CPU KV pool instead of recomputed (CPU offload). */
  readonly cpuHitTokens: Int32Array;
  /** Blocks this request's block table maps onto other requests' blocks through fusion. */
  readonly fusedAway: Int32Array;
  /** 1 once the request fused in its current residency (reset by preemption). */
  readonly fusedFlag: Uint8Array;
  /** Increments at every preemption and finish: tells stale fusion debts from live ones. */
  readonly residency: Int32Array;
  /** Blocks this request holds on behalf of requests fused onto it: flat triples (request, blocks, residency). */
  readonly owes: (number[] | null)[];
  /** Admission order on its replica (the running list's order; the newest is preempted first). */
  readonly admitSeq: Float64Array;
  /** 1 while the request sits in its replica's decode lane (its counters are then implicit). */
  readonly inLane: Uint8Array;
  /** Lane tick, computed tokens and output tokens when it entered the lane. */
  readonly laneBaseTick: Float64Array;
  readonly laneBaseComputed: Int32Array;
  readonly laneBaseOutput: Int32Array;
  /** Identifies the request's current lane stay (finish-heap entries of earlier stays are stale). */
  readonly laneStamp: Int32Array;

  constructor(workload: Workload) {
    const n = workload.n;
    this.n = n;
    this.workload = workload;
    this.state = new Uint8Array(n);
    this.replica = new Int32Array(n).fill(-1);
    this.numComputed = new Int32Array(n);
    this.numOutput = new Int32Array(n);
    this.ownBlocks = new Int32Array(n);
    this.sharedKeys = new Array(n).fill(null);
    this.sharedAtPreempt = new Int32Array(n);
    this.firstTokenS = new Float64Array(n).fill(NaN);
    this.lastTokenS = new Float64Array(n).fill(NaN);
    this.finishS = new Float64Array(n).fill(NaN);
    this.preemptions = new Int32Array(n);
    this.prefixHitTokens = new Int32Array(n);
    this.cpuHitTokens = new Int32Array(n);
    this.fusedAway = new Int32Array(n);
    this.fusedFlag = new Uint8Array(n);
    this.residency = new Int32Array(n);
    this.owes = new Array(n).fill(null);
    this.admitSeq = new Float64Array(n);
    this.inLane = new Uint8Array(n);
    this.laneBaseTick = new Float64Array(n);
    this.laneBaseComputed = new Int32Array(n);
    this.laneBaseOutput = new Int32Array(n);
    this.laneStamp = new Int32Array(n);
  }

  /** Tokens known for the request: its prompt plus what it generated so far. */
  numTokens(r: number): number {
    return this.workload.inputTokens[r] + this.numOutput[r];
  }
}
