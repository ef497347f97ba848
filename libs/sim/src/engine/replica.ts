import { StepTimeModel, emptyStepWork, type PipelineStepTimes, type StepWork } from '../time/step-time';
import { BlockPool } from './block-pool';
import type { CpuKvTier } from './cpu-tier';
import { FinishHeap } from './finish-heap';
import type { FusionModel } from './fusion';
import { GapRecorder } from './gap-recorder';
import { ReqState, RequestTable } from './request-table';

export interface ReplicaConfig {
  blockSize: number;
  maxNumSeqs: number;
  maxNumBatchedTokens: number;
  numGpuBlocks: number;
  enablePrefixCaching: boolean;
  /**
   * Advance decoding requests implicitly in a decode lane (default true). Results are identical
   * either way (tested); false keeps every request explicit, the reference for that test.
   */
  decodeLane?: boolean;
  /** Pipeline stages (default 1); with more, as many batches are kept in flight (no decode lane). */
  pipelineParallel?: number;
  /** Per stage boundary: does it cross nodes (inter-node network) rather than stay in a node? */
  interNodeBoundary?: readonly boolean[];
  /**
   * vLLM's async scheduling (default off here; the spec's engine.asyncScheduling, on unless false): the
   * scheduler plans step N+1 while step N runs, so a request that arrives during a step can only
   * join the step after next. Without pipeline parallelism only.
   */
  asyncScheduling?: boolean;
}

/** One batch in flight through the pipeline: its entries (request, tokens, residency, samples). */
interface Batch {
  req: Int32Array;
  num: Int32Array;
  stamp: Int32Array;
  sampled: Uint8Array;
  len: number;
}

/** CPU KV offload of one replica: its CPU pool and what a load over the host link costs. */
export interface ReplicaOffload {
  tier: CpuKvTier;
  /** Seconds to load `blocks` blocks into the GPUs (each GPU its shard, over its own link, at once). */
  loadTime(blocks: number): number;
}

/** Run-wide sinks the replicas report into. */
export interface RunSinks {
  gaps: GapRecorder;
  /** Called when a request finishes (or fails), with the time. */
  onFinish(r: number, now: number): void;
}

const KEY_STRIDE = 65536;
/** What admit did: nothing (it does not fit), admitted to run, or started loading from the CPU pool. */
const ADMIT_NO = 0;
const ADMIT_RUN = 1;
const ADMIT_LOADING = 2;
/** After the lane had to be left, steps to stay explicit before using it again. */
const LANE_COOLDOWN_STEPS = 64;

/**
 * One vLLM V1 engine: a waiting queue, a running list in admission order, a block pool, and the
 * V1 scheduler's step: one token budget, running requests first (each gets what it still needs,
 * up to the budget: one token when decoding, a chunk when prefilling), preemption by recompute
 * of the newest running request when blocks run out, then waiting requests in order while
 * budget, sequence slots and blocks last (none when something was preempted this step).
 *
 * Speed: requests that are decoding sit in a decode lane where their counters are implicit
 * (tokens = tokens at entry + lane steps since), blocks they need are counted by phase, and
 * their finishes come from a heap. A step in which every running request gets what it needs and
 * no block runs out costs O(prefilling requests), not O(batch). Any other step first makes the
 * lane explicit again and runs the scheduler request by request.
 *
 * With CPU KV offload (ReplicaOffload) every full block is also stored in a CPU pool, and blocks
 * found there are loaded back before their request is scheduled (admit). With pipeline
 * parallelism (pipelineParallel > 1) up to that many batches are in flight (launch, endBatch),
 * without the decode lane.
 */
export class Replica {
  readonly pool: BlockPool;
  private readonly cfg: ReplicaConfig;
  private readonly reqs: RequestTable;
  private readonly time: StepTimeModel;
  private readonly sinks: RunSinks;

  /** Waiting queue as a ring buffer (preempted requests go back to its front). */
  private wq: Int32Array;
  private wHead = 0;
  private wLen = 0;
  /** Running requests in admission order; entries go stale when a request leaves (checked by stamp). */
  private running: number[] = [];
  private runningStamp: number[] = [];
  private runningCount = 0;
  /** Running requests outside the decode lane, in admission order. */
  private explicit: number[] = [];
  private admitCounter = 0;

  // The decode lane.
  private readonly laneEnabled: boolean;
  private laneCount = 0;
  private laneTick = 0;
  private laneSumComputed = 0;
  private readonly phaseCount: Int32Array;
  private readonly finishHeap = new FinishHeap();
  private laneStampCounter = 0;
  private laneInStep = false;
  /** Upper bound of the lane members' admission order (reset when the lane empties). */
  private laneMaxSeq = -1;
  /** Steps during which nobody enters the lane (after it had to be left). */
  private laneCooldown = 0;
  private lastStepEnd = 0;
  private readonly finishers: number[] = [];
  private readonly explicitNeeds: number[] = [];

  // The step in flight.
  private schedReq: Int32Array;
  private schedNew: Int32Array;
  private schedLen = 0;
  busy = false;
  stepStartS = 0;
  private readonly work: StepWork = emptyStepWork();
  private readonly fusion: FusionModel | null;
  private readonly offload: ReplicaOffload | null;
  /** Requests whose blocks are loading from the CPU pool, and when each load ends (in order). */
  private loadingReq: number[] = [];
  private loadingReady: number[] = [];
  /** When the host-to-device link is free again (loads run one after another). */
  private linkFreeS = 0;
  /** 1 for a request that holds its loaded blocks and waits to be scheduled. */
  private holding: Uint8Array | null = null;
  private fusionCarry = 0;
  private stepUsed = 0;
  private stepDt = 0;
  private pendingFusionFlops = 0;
  /** Async scheduling: requests that arrived during the step in flight, and during the one before. */
  private lagNow: number[] = [];
  private lagPrev: number[] = [];
  private readonly lagging: boolean;

  // Pipeline parallelism (stages > 1): batches in flight in launch order, when each stage is free.
  private readonly stages: number;
  private readonly batches: Batch[] = [];
  private batchHead = 0;
  private inFlight = 0;
  private readonly stageFree: Float64Array;
  private readonly interNode: readonly boolean[];
  private readonly pst: PipelineStepTimes = {
    hostS: 0,
    stageS: 0,
    lastS: 0,
    intraNodeXferS: 0,
    interNodeXferS: 0,
  };
  /** Earliest time the engine can schedule another batch (after the last one's host work). */
  nextLaunchS = 0;
  /** Seconds stages computed, seconds with a batch in flight, and seconds of stage-boundary transfers. */
  stageBusyS = 0;
  pipelineActiveS = 0;
  private activeSinceS = 0;
  transferS = 0;

  // Statistics.
  steps = 0;
  batchSizeSum = 0;
  usedBlockSeconds = 0;
  preemptionCount = 0;
  fusionBlocksFreed = 0;
  fusionBlocksSeen = 0;
  fusionOverheadS = 0;

  constructor(
    cfg: ReplicaConfig,
    reqs: RequestTable,
    time: StepTimeModel,
    sinks: RunSinks,
    fusion: FusionModel | null = null,
    offload: ReplicaOffload | null = null,
  ) {
    this.cfg = cfg;
    this.fusion = fusion;
    this.offload = cfg.enablePrefixCaching ? offload : null;
    if (this.offload) this.holding = new Uint8Array(reqs.n);
    this.reqs = reqs;
    this.time = time;
    this.sinks = sinks;
    this.pool = new BlockPool(cfg.numGpuBlocks);
    this.wq = new Int32Array(1024);
    this.schedReq = new Int32Array(cfg.maxNumSeqs + 1);
    this.schedNew = new Int32Array(cfg.maxNumSeqs + 1);
    this.stages = cfg.pipelineParallel ?? 1;
    this.stageFree = new Float64Array(this.stages);
    this.interNode = cfg.interNodeBoundary ?? [];
    if (this.stages > 1)
      for (let i = 0; i < this.stages; i++)
        this.batches.push({
          req: new Int32Array(cfg.maxNumSeqs + 1),
          num: new Int32Array(cfg.maxNumSeqs + 1),
          stamp: new Int32Array(cfg.maxNumSeqs + 1),
          sampled: new Uint8Array(cfg.maxNumSeqs + 1),
          len: 0,
        });
    this.laneEnabled = cfg.decodeLane !== false && fusion === null && this.stages === 1;
    this.lagging = cfg.asyncScheduling === true && this.stages === 1;
    this.phaseCount = new Int32Array(cfg.blockSize);
  }

  get numRunning(): number {
    return this.runningCount;
  }

  get numWaiting(): number {
    return this.wLen + this.lagNow.length + this.lagPrev.length;
  }

  /** Requests this replica owns and has not finished: what least-loaded routing compares. */
  get load(): number {
    return this.wLen + this.lagNow.length + this.lagPrev.length + this.runningCount + this.loadingReq.length;
  }

  /**
   * A new request reaches the engine. Under async scheduling, while a step runs the next one is
   * already planned: the request waits for the step after it (lagNow, then lagPrev); an idle
   * engine takes it at once.
   */
  arrive(r: number): void {
    if (this.lagging && this.busy) {
      this.reqs.state[r] = ReqState.Waiting;
      this.lagNow.push(r);
    } else this.enqueue(r);
  }

  /** Async scheduling: the requests that arrived during the step before last join the queue. */
  private releaseLagged(): void {
    const prev = this.lagPrev;
    for (let i = 0; i < prev.length; i++) this.enqueue(prev[i]);
    prev.length = 0;
  }

  /** The CPU pool (CPU KV offload), or null. */
  get cpuTier(): CpuKvTier | null {
    return this.offload?.tier ?? null;
  }

  /** When a load from the CPU pool ends and its request can be scheduled (Infinity: none pending). */
  get wakeAt(): number {
    return this.loadingReq.length > 0 ? this.loadingReady[0] : Infinity;
  }

  enqueue(r: number): void {
    this.reqs.state[r] = ReqState.Waiting;
    if (this.wLen === this.wq.length) this.growQueue();
    this.wq[(this.wHead + this.wLen) % this.wq.length] = r;
    this.wLen++;
  }

  private enqueueFront(r: number): void {
    this.reqs.state[r] = ReqState.Waiting;
    if (this.wLen === this.wq.length) this.growQueue();
    this.wHead = (this.wHead - 1 + this.wq.length) % this.wq.length;
    this.wq[this.wHead] = r;
    this.wLen++;
  }

  private growQueue(): void {
    const q = new Int32Array(this.wq.length * 2);
    for (let i = 0; i < this.wLen; i++) q[i] = this.wq[(this.wHead + i) % this.wq.length];
    this.wq = q;
    this.wHead = 0;
  }

  /** Blocks in r's block table: private, shared by prefix, and fused onto other requests' blocks. */
  private blocksHeld(r: number): number {
    return this.reqs.ownBlocks[r] + (this.reqs.sharedKeys[r]?.length ?? 0) + this.reqs.fusedAway[r];
  }

  /**
   * Plans the next step at `now`. Returns its duration in seconds, or -1 when there is nothing
   * to run (the replica goes idle).
   */
  startStep(now: number): number {
    if (this.lagging) {
      // Arrivals during the step before last are due; those during the last one wait one more.
      this.releaseLagged();
      const t = this.lagPrev;
      this.lagPrev = this.lagNow;
      this.lagNow = t;
    }
    return this.planStep(now);
  }

  private planStep(now: number): number {
    const reqs = this.reqs;
    const cfg = this.cfg;
    const bs = cfg.blockSize;
    const w = this.work;
    w.numReqs = w.newTokens = w.numSampled = w.attnPairs = w.kvReadTokens = 0;
    w.prefillReqs = w.prefillTokens = w.prefillPairs = w.prefillKvRead = 0;
    w.extraFlops = this.pendingFusionFlops;
    w.peerTokens = 0;
    this.schedLen = 0;
    let budget = cfg.maxNumBatchedTokens;
    let preempted = false;
    if (this.loadingReq.length > 0) this.takeLoaded(now);

    // Running requests first, in admission order. (Hot loop: columns in locals.)
    const numComputed = reqs.numComputed;
    const numOutput = reqs.numOutput;
    const inputTokens = reqs.workload.inputTokens;
    const prefixTokens = reqs.workload.prefixTokens;
    const ownBlocks = reqs.ownBlocks;
    const sharedKeys = reqs.sharedKeys;
    this.laneInStep = false;
    if (this.laneCount > 0) {
      const fits = this.laneStepFits(budget);
      if (fits === null) this.leaveLane();
      else preempted = fits;
    }
    if (this.laneCount > 0) {
      // The lane gets one token each; the explicit requests what they still need, in order, until
      // the budget binds (laneStepFits checked that every lane member comes before that point, and
      // preempted the newest requests until the blocks everyone scheduled needs are free).
      budget -= this.laneCount;
      for (const r of this.explicit) {
        if (budget <= 0) break;
        const computed = numComputed[r];
        const remaining = inputTokens[r] + numOutput[r] - computed;
        const numNew = remaining < budget ? remaining : budget;
        const keys = sharedKeys[r];
        const need = Math.ceil((computed + numNew) / bs) - this.blocksHeld(r);
        if (need > 0) {
          this.pool.allocate(need);
          ownBlocks[r] += need;
        }
        if (keys !== null && computed < prefixTokens[r]) this.registerShared(r, computed + numNew);
        this.addToStep(r, computed, numNew);
        budget -= numNew;
      }
      const laneNeed = this.phaseCount[(bs - (this.laneTick % bs)) % bs];
      if (laneNeed > 0) this.pool.allocate(laneNeed);
      if (this.offload)
        this.offload.tier.storeAnonymous(this.phaseCount[(bs - ((this.laneTick + 1) % bs)) % bs]);
      const n = this.laneCount;
      w.numReqs += n;
      w.newTokens += n;
      w.numSampled += n;
      w.attnPairs += this.laneSumComputed + n;
      w.kvReadTokens += this.laneSumComputed;
      this.laneInStep = true;
    } else {
      const explicit = this.explicit;
      let i = 0;
      while (i < explicit.length && budget > 0) {
        const r = explicit[i];
        const computed = numComputed[r];
        const remaining = inputTokens[r] + numOutput[r] - computed;
        // Nothing to compute: its last tokens are in a batch still in flight (pipeline parallelism).
        if (remaining === 0) {
          i++;
          continue;
        }
        const numNew = remaining < budget ? remaining : budget;
        const keys = sharedKeys[r];
        const need = Math.ceil((computed + numNew) / bs) - this.blocksHeld(r);
        if (need > 0) {
          let selfPreempted = false;
          while (need > this.pool.freeCount) {
            // The newest running request: the explicit list is the whole running set here.
            const victim = explicit.pop()!;
            this.preempt(victim);
            preempted = true;
            if (victim === r) {
              selfPreempted = true;
              break;
            }
          }
          if (selfPreempted) break;
          this.pool.allocate(need);
          ownBlocks[r] += need;
        }
        if (keys !== null && computed < prefixTokens[r]) this.registerShared(r, computed + numNew);
        this.addToStep(r, computed, numNew);
        budget -= numNew;
        i++;
      }
    }

    // Then waiting requests, unless something was preempted in this step.
    if (!preempted) {
      while (this.wLen > 0 && budget > 0 && this.runningCount < cfg.maxNumSeqs) {
        const r = this.wq[this.wHead];
        const admitted = this.admit(r, budget, now);
        if (admitted === ADMIT_NO) break;
        this.wHead = (this.wHead + 1) % this.wq.length;
        this.wLen--;
        if (admitted === ADMIT_LOADING) continue;
        reqs.state[r] = ReqState.Running;
        reqs.admitSeq[r] = this.admitCounter++;
        this.running.push(r);
        this.runningStamp.push(reqs.residency[r]);
        this.runningCount++;
        this.explicit.push(r);
        const computed = reqs.numComputed[r];
        const numNew = Math.min(reqs.numTokens(r) - computed, budget);
        this.addToStep(r, computed, numNew);
        budget -= numNew;
      }
    }

    if (this.schedLen === 0 && !this.laneInStep) {
      this.busy = false;
      // Nothing fits even alone: the head request can never run on this replica.
      if (this.runningCount === 0 && this.wLen > 0 && this.loadingReq.length === 0) {
        const r = this.wq[this.wHead];
        this.wHead = (this.wHead + 1) % this.wq.length;
        this.wLen--;
        if (this.holding?.[r]) {
          this.holding[r] = 0;
          this.release(r);
        }
        reqs.state[r] = ReqState.Failed;
        this.sinks.onFinish(r, now);
        return this.planStep(now);
      }
      // Nothing else to run: the planned step would be empty, so late arrivals go now.
      if (this.lagPrev.length > 0) {
        this.releaseLagged();
        return this.planStep(now);
      }
      return -1;
    }
    const used = this.pool.usedCount;
    if (this.stages > 1) return this.launch(now, used);
    const dt = this.time.stepTime(w);
    if (w.extraFlops > 0) {
      this.fusionOverheadS += this.time.flopsTime(w.extraFlops);
      this.pendingFusionFlops = 0;
    }
    this.busy = true;
    this.stepStartS = now;
    this.steps++;
    this.batchSizeSum += w.numReqs;
    this.usedBlockSeconds += used * dt;
    this.stepUsed = used;
    this.stepDt = dt;
    return dt;
  }

  /**
   * Pipeline parallelism: sends the scheduled batch into the pipeline at `now`. The engine's own
   * work comes first, then each stage in turn once it is free (the batch ahead may still hold it),
   * with the activations sent across each boundary. Tokens count as computed when scheduled, as
   * vLLM's scheduler counts them, so the next batch takes a prefill's next chunk and skips requests
   * whose token is still in flight. Returns the batch's time to its end.
   */
  private launch(now: number, used: number): number {
    const reqs = this.reqs;
    const t = this.time.pipelineStep(this.work, this.stages, this.pst);
    const b = this.batches[(this.batchHead + this.inFlight) % this.stages];
    for (let k = 0; k < this.schedLen; k++) {
      const r = this.schedReq[k];
      const n = this.schedNew[k];
      b.req[k] = r;
      b.num[k] = n;
      b.stamp[k] = reqs.residency[r];
      reqs.numComputed[r] += n;
      b.sampled[k] = reqs.numComputed[r] === reqs.numTokens(r) ? 1 : 0;
    }
    b.len = this.schedLen;
    if (this.work.extraFlops > 0) {
      this.fusionOverheadS += this.time.flopsTime(this.work.extraFlops);
      this.pendingFusionFlops = 0;
    }
    let begin = now + t.hostS;
    const last = this.stages - 1;
    for (let k = 0; k <= last; k++) {
      const s = k === last ? t.stageS + t.lastS : t.stageS;
      const start = begin > this.stageFree[k] ? begin : this.stageFree[k];
      this.stageFree[k] = start + s;
      this.stageBusyS += s;
      if (k < last) {
        const x = this.interNode[k] ? t.interNodeXferS : t.intraNodeXferS;
        this.transferS += x;
        begin = start + s + x;
      }
    }
    if (this.inFlight++ === 0) this.activeSinceS = now;
    this.nextLaunchS = now + t.hostS;
    this.busy = this.inFlight >= this.stages;
    const dt = this.stageFree[last] - now;
    this.steps++;
    this.batchSizeSum += this.work.numReqs;
    this.usedBlockSeconds += used * (t.hostS + t.stageS);
    return dt;
  }

  /** Pipeline parallelism: applies the oldest batch in flight, which ends at `now`. */
  private endBatch(now: number): void {
    const reqs = this.reqs;
    const b = this.batches[this.batchHead];
    this.batchHead = (this.batchHead + 1) % this.stages;
    if (--this.inFlight === 0) this.pipelineActiveS += now - this.activeSinceS;
    const finishers = this.finishers;
    finishers.length = 0;
    for (let k = 0; k < b.len; k++) {
      const r = b.req[k];
      // A request preempted (or finished) since the batch left counts nothing of it.
      if (b.sampled[k] === 0 || reqs.residency[r] !== b.stamp[k]) continue;
      if (this.fusion !== null && reqs.fusedFlag[r] === 0) this.fuse(r);
      const produced = ++reqs.numOutput[r];
      if (produced === 1) reqs.firstTokenS[r] = now;
      else this.sinks.gaps.add(now - reqs.lastTokenS[r], 1);
      reqs.lastTokenS[r] = now;
      if (produced >= reqs.workload.outputTokens[r]) finishers.push(r);
    }
    if (finishers.length > 0) {
      if (finishers.length > 1) finishers.sort((a, c) => reqs.admitSeq[a] - reqs.admitSeq[c]);
      for (const r of finishers) {
        reqs.state[r] = ReqState.Done;
        reqs.finishS[r] = now;
        this.release(r);
        this.runningCount--;
        const i = this.explicit.indexOf(r);
        if (i >= 0) this.explicit.splice(i, 1);
      }
      for (const r of finishers) this.sinks.onFinish(r, now);
      if (this.running.length > 2 * this.runningCount + 64) this.compactRunning();
    }
    this.busy = false;
  }

  /** Tokens the step in flight computes (what it sends through shared MoE layers). */
  get stepTokens(): number {
    return this.work.newTokens;
  }

  /** The step in flight's own duration with `peerTokens` from the other ranks in the shared MoE layers. */
  retime(peerTokens: number): number {
    this.work.peerTokens = peerTokens;
    return this.time.stepTime(this.work);
  }

  /** The step in flight lasts `dt` (a lockstep group's slowest rank) instead of its own time. */
  setStepDuration(dt: number): void {
    this.usedBlockSeconds += this.stepUsed * (dt - this.stepDt);
    this.stepDt = dt;
  }

  private addToStep(r: number, computed: number, numNew: number): void {
    const w = this.work;
    this.schedReq[this.schedLen] = r;
    this.schedNew[this.schedLen] = numNew;
    this.schedLen++;
    w.numReqs++;
    w.newTokens += numNew;
    const pairs = numNew * (computed + (numNew + 1) / 2);
    w.attnPairs += pairs;
    // With shared reads, blocks fused onto others are read once for all of their users.
    const read = this.fusion?.config.sharedReads
      ? computed - this.reqs.fusedAway[r] * this.cfg.blockSize
      : computed;
    w.kvReadTokens += read;
    if (numNew > 1) {
      w.prefillReqs++;
      w.prefillTokens += numNew;
      w.prefillPairs += pairs;
      w.prefillKvRead += read;
    }
    if (computed + numNew === this.reqs.numTokens(r)) w.numSampled++;
    if (this.offload) this.storeComputed(r, computed, numNew);
  }

  /** Write-through to the CPU pool: the blocks r fills in this step, shared ones by key. */
  private storeComputed(r: number, computed: number, numNew: number): void {
    const bs = this.cfg.blockSize;
    const b0 = Math.floor(computed / bs);
    const b1 = Math.floor((computed + numNew) / bs);
    if (b1 <= b0) return;
    const tier = this.offload!.tier;
    const g = this.reqs.workload.prefixGroup[r];
    const keyed = g >= 0 ? Math.min(b1, Math.floor(this.reqs.workload.prefixTokens[r] / bs)) : 0;
    for (let b = b0; b < keyed; b++) tier.storeKey(g * KEY_STRIDE + b);
    tier.storeAnonymous(b1 - Math.max(b0, keyed));
  }

  /** Requests whose load from the CPU pool has ended go back to the front of the waiting queue. */
  private takeLoaded(now: number): void {
    let k = 0;
    while (k < this.loadingReq.length && this.loadingReady[k] <= now) k++;
    if (k === 0) return;
    for (let i = k - 1; i >= 0; i--) this.enqueueFront(this.loadingReq[i]);
    this.loadingReq.splice(0, k);
    this.loadingReady.splice(0, k);
  }

  /**
   * Tries to admit waiting request r with `budget` tokens: prefix-cache hits, then blocks for its
   * first chunk. ADMIT_NO (nothing changed) when its blocks do not fit. With CPU offload, blocks
   * found in the CPU pool after the GPU's hits are allocated and loaded instead: the request then
   * leaves the queue until the load ends (ADMIT_LOADING), as vLLM's WAITING_FOR_REMOTE_KVS.
   */
  private admit(r: number, budget: number, now: number): number {
    const reqs = this.reqs;
    const bs = this.cfg.blockSize;
    const holding = this.holding;
    if (holding !== null && holding[r] === 1) return this.admitHolding(r, budget);
    const numTokens = reqs.numTokens(r);
    const maxHitBlocks = Math.floor((numTokens - 1) / bs);
    let sharedHits = 0;
    let ownHits = 0;
    let cpuShared = 0;
    let cpuOwn = 0;
    let hitsInFreeQueue = 0;
    const g = reqs.workload.prefixGroup[r];
    if (this.cfg.enablePrefixCaching) {
      const sharedFull = g >= 0 ? Math.min(Math.floor(reqs.workload.prefixTokens[r] / bs), maxHitBlocks) : 0;
      while (sharedHits < sharedFull && this.pool.hasCached(g * KEY_STRIDE + sharedHits)) sharedHits++;
      const tier = this.offload?.tier;
      if (tier)
        while (sharedHits + cpuShared < sharedFull && tier.has(g * KEY_STRIDE + sharedHits + cpuShared))
          cpuShared++;
      const own = this.pool.ownCached(r);
      const shared = sharedHits + cpuShared;
      if (shared === reqs.sharedAtPreempt[r]) {
        if (own > 0) ownHits = Math.min(own, maxHitBlocks - shared);
        if (tier) cpuOwn = Math.max(0, Math.min(tier.ownHits(r, ownHits), maxHitBlocks - shared - ownHits));
      }
      // Hits on blocks sitting in the free queue take those blocks out of it.
      hitsInFreeQueue = ownHits;
      for (let b = 0; b < sharedHits; b++) if (this.pool.isFree(g * KEY_STRIDE + b)) hitsInFreeQueue++;
    }
    const loaded = cpuShared + cpuOwn;
    const hitTokens = (sharedHits + ownHits + loaded) * bs;
    // A load allocates only the blocks it fills; the first chunk's come when the request is scheduled.
    const numNew = loaded > 0 ? 0 : Math.min(numTokens - hitTokens, budget);
    const need = Math.ceil((hitTokens + numNew) / bs) - sharedHits - ownHits;
    if (need > this.pool.freeCount - hitsInFreeQueue) return ADMIT_NO;

    const keys: number[] | null = g >= 0 && this.cfg.enablePrefixCaching ? [] : null;
    for (let b = 0; b < sharedHits; b++) {
      const key = g * KEY_STRIDE + b;
      this.pool.acquireCached(key);
      keys!.push(key);
    }
    reqs.sharedKeys[r] = keys;
    if (ownHits > 0) {
      const took = this.pool.acquireOwn(r);
      this.pool.releasePrivate(took - ownHits);
    } else this.pool.forgetOwn(r);
    reqs.ownBlocks[r] = ownHits;
    reqs.numComputed[r] = hitTokens;
    reqs.prefixHitTokens[r] += (sharedHits + ownHits) * bs;
    this.pool.allocate(need);
    reqs.ownBlocks[r] += need;
    const off = this.offload;
    if (off === null) {
      this.registerShared(r, hitTokens + numNew);
      return ADMIT_RUN;
    }
    const tier = off.tier;
    // The GPU's hits are offered to the CPU pool too (stored there unless it has them).
    for (let b = 0; b < sharedHits; b++) tier.storeKey(g * KEY_STRIDE + b);
    if (loaded === 0) {
      tier.beginOwn(r, ownHits);
      this.registerShared(r, hitTokens + numNew);
      return ADMIT_RUN;
    }
    for (let b = sharedHits; b < sharedHits + cpuShared; b++) tier.touchKey(g * KEY_STRIDE + b);
    tier.touchOwn(r, ownHits, cpuOwn);
    this.registerShared(r, hitTokens);
    reqs.cpuHitTokens[r] += loaded * bs;
    const begin = this.linkFreeS > now ? this.linkFreeS : now;
    const dt = off.loadTime(loaded);
    this.linkFreeS = begin + dt;
    tier.loads++;
    tier.loadedBlocks += loaded;
    tier.loadSeconds += dt;
    this.holding![r] = 1;
    this.loadingReq.push(r);
    this.loadingReady.push(begin + dt);
    return ADMIT_LOADING;
  }

  /** Admits a request that holds the blocks it loaded from the CPU pool: blocks for its next chunk. */
  private admitHolding(r: number, budget: number): number {
    const reqs = this.reqs;
    const computed = reqs.numComputed[r];
    const numNew = Math.min(reqs.numTokens(r) - computed, budget);
    const need = Math.ceil((computed + numNew) / this.cfg.blockSize) - this.blocksHeld(r);
    if (need > this.pool.freeCount) return ADMIT_NO;
    if (need > 0) {
      this.pool.allocate(need);
      reqs.ownBlocks[r] += need;
    }
    this.registerShared(r, computed + numNew);
    this.holding![r] = 0;
    return ADMIT_RUN;
  }

  /** Turns r's freshly allocated blocks of its shared prefix into cached shared blocks. */
  private registerShared(r: number, tokensAfterStep: number): void {
    if (!this.cfg.enablePrefixCaching) return;
    const reqs = this.reqs;
    const keys = reqs.sharedKeys[r];
    if (!keys) return;
    const g = reqs.workload.prefixGroup[r];
    const bs = this.cfg.blockSize;
    const upto = Math.min(Math.floor(reqs.workload.prefixTokens[r] / bs), Math.floor(tokensAfterStep / bs));
    // Only a contiguous run from the shared blocks already held can be shared (chained hashes).
    while (keys.length < upto && reqs.ownBlocks[r] > 0) {
      const key = g * KEY_STRIDE + keys.length;
      if (!this.pool.register(key)) break;
      keys.push(key);
      reqs.ownBlocks[r]--;
    }
  }

  /**
   * Fusion is reference-counted: blocks that other running requests were fused onto stay
   * allocated when this request leaves; they pass to those requests.
   */
  private settleFusion(x: number): void {
    const reqs = this.reqs;
    const owes = reqs.owes[x];
    if (owes) {
      for (let i = 0; i < owes.length; i += 3) {
        const r = owes[i];
        if (reqs.state[r] !== ReqState.Running || reqs.residency[r] !== owes[i + 2]) continue;
        const k = Math.min(owes[i + 1], reqs.ownBlocks[x], reqs.fusedAway[r]);
        reqs.ownBlocks[x] -= k;
        reqs.ownBlocks[r] += k;
        reqs.fusedAway[r] -= k;
      }
      reqs.owes[x] = null;
    }
    reqs.fusedAway[x] = 0;
    reqs.fusedFlag[x] = 0;
    reqs.residency[x]++;
  }

  /** Preemption by recompute: frees r's blocks (its full ones stay cached for its resume). */
  private preempt(r: number): void {
    const reqs = this.reqs;
    this.settleFusion(r);
    const bs = this.cfg.blockSize;
    const keys = reqs.sharedKeys[r];
    const shared = keys?.length ?? 0;
    if (this.cfg.enablePrefixCaching) {
      const fullOwn = Math.max(0, Math.min(reqs.ownBlocks[r], Math.floor(reqs.numComputed[r] / bs) - shared));
      this.pool.releasePrivate(reqs.ownBlocks[r] - fullOwn);
      this.pool.releaseOwn(r, fullOwn);
      this.offload?.tier.endOwn(r, fullOwn);
    } else this.pool.releasePrivate(reqs.ownBlocks[r]);
    if (keys) for (let k = keys.length - 1; k >= 0; k--) this.pool.releaseShared(keys[k]);
    reqs.sharedAtPreempt[r] = shared;
    reqs.sharedKeys[r] = null;
    reqs.ownBlocks[r] = 0;
    reqs.numComputed[r] = 0;
    reqs.preemptions[r]++;
    this.preemptionCount++;
    this.runningCount--;
    this.enqueueFront(r);
  }

  private release(r: number): void {
    const reqs = this.reqs;
    this.settleFusion(r);
    this.pool.forgetOwn(r);
    this.pool.releasePrivate(reqs.ownBlocks[r]);
    const keys = reqs.sharedKeys[r];
    if (keys) for (let k = keys.length - 1; k >= 0; k--) this.pool.releaseShared(keys[k]);
    reqs.sharedKeys[r] = null;
    reqs.ownBlocks[r] = 0;
  }

  /**
   * KV fusion at r's prefill-to-decode transition. BFF: r's full private blocks are compared with
   * the full blocks of every other decoding request (of its tenant, with `scope: tenant`); the
   * expected matches are freed now and owed by the requests they were fused onto. CFF: r's prompt
   * chunks are fused with each other within windows.
   */
  private fuse(r: number): void {
    const fusion = this.fusion!;
    const reqs = this.reqs;
    const bs = this.cfg.blockSize;
    reqs.fusedFlag[r] = 1;
    const blocks = Math.max(0, Math.floor(reqs.numComputed[r] / bs) - (reqs.sharedKeys[r]?.length ?? 0));
    if (blocks === 0) return;
    this.fusionBlocksSeen += blocks;
    let freed: number;
    const partners: number[] = [];
    const partnerBlocks: number[] = [];
    let candidates = 0;
    if (fusion.config.mode === 'bff') {
      const tenantScope = fusion.config.scope === 'tenant';
      const tenant = reqs.workload.tenant[r];
      for (let i = 0; i < this.running.length; i++) {
        const p = this.running[i];
        if (!this.isRunningEntry(i) || p === r || reqs.fusedFlag[p] === 0) continue;
        if (tenantScope && reqs.workload.tenant[p] !== tenant) continue;
        const b = Math.floor(reqs.numComputed[p] / bs);
        if (b === 0) continue;
        partners.push(p);
        partnerBlocks.push(b);
        candidates += b;
      }
      freed = fusion.bffFreed(blocks, candidates);
      this.pendingFusionFlops += fusion.similarityFlops(blocks, candidates);
    } else {
      const chunkBlocks = Math.max(1, Math.floor(this.cfg.maxNumBatchedTokens / bs));
      freed = fusion.cffFreed(blocks, chunkBlocks);
      this.pendingFusionFlops += fusion.similarityFlops(
        blocks,
        (chunkBlocks * (fusion.config.window - 1)) / 2,
      );
    }
    const total = freed + this.fusionCarry;
    const k = Math.min(Math.floor(total), reqs.ownBlocks[r]);
    this.fusionCarry = total - Math.floor(total);
    if (k <= 0) return;
    reqs.ownBlocks[r] -= k;
    reqs.fusedAway[r] += k;
    this.pool.releasePrivate(k);
    this.fusionBlocksFreed += k;
    if (partners.length === 0) return;
    // The representatives: split k over the partners in proportion to their blocks (largest remainder).
    const shares = partnerBlocks.map((b) => (k * b) / candidates);
    const whole = shares.map(Math.floor);
    let left = k - whole.reduce((a, b) => a + b, 0);
    const byRemainder = shares
      .map((v, i) => i)
      .sort((a, b) => shares[b] - whole[b] - (shares[a] - whole[a]) || a - b);
    for (const i of byRemainder) {
      if (left <= 0) break;
      whole[i]++;
      left--;
    }
    for (let i = 0; i < partners.length; i++) {
      if (whole[i] === 0) continue;
      const p = partners[i];
      (reqs.owes[p] ??= []).push(r, whole[i], reqs.residency[r]);
    }
  }

  /** Applies the step in flight at its end time `now`: tokens computed, sampled, finished. */
  endStep(now: number): void {
    if (this.stages > 1) return this.endBatch(now);
    const reqs = this.reqs;
    const out = reqs.workload.outputTokens;
    const inputTokens = reqs.workload.inputTokens;
    const numComputed = reqs.numComputed;
    const numOutput = reqs.numOutput;
    const lastTokenS = reqs.lastTokenS;
    const fusedFlag = reqs.fusedFlag;
    const schedReq = this.schedReq;
    const schedNew = this.schedNew;
    const start = this.stepStartS;
    const dt = now - start;
    const finishers = this.finishers;
    finishers.length = 0;
    let sharedGap = 0;
    for (let k = 0; k < this.schedLen; k++) {
      const r = schedReq[k];
      const computed = (numComputed[r] += schedNew[k]);
      if (computed !== inputTokens[r] + numOutput[r]) continue;
      if (this.fusion !== null && fusedFlag[r] === 0) this.fuse(r);
      const produced = ++numOutput[r];
      if (produced === 1) reqs.firstTokenS[r] = now;
      else if (lastTokenS[r] === start) sharedGap++;
      else this.sinks.gaps.add(now - lastTokenS[r], 1);
      lastTokenS[r] = now;
      if (produced >= out[r]) finishers.push(r);
    }
    if (this.laneInStep) {
      // Every lane member produced one token, sharing this step's gap.
      this.laneTick++;
      this.laneSumComputed += this.laneCount;
      sharedGap += this.laneCount;
      const heap = this.finishHeap;
      while (heap.size > 0 && heap.topTick <= this.laneTick) {
        const r = heap.topReq;
        const live = reqs.inLane[r] === 1 && reqs.laneStamp[r] === heap.topStamp;
        heap.pop();
        if (!live) continue;
        this.materialize(r);
        lastTokenS[r] = now;
        finishers.push(r);
      }
    }
    this.sinks.gaps.add(dt, sharedGap);
    this.lastStepEnd = now;
    if (finishers.length > 0) {
      // Released in admission order, as the scheduler would meet them.
      if (finishers.length > 1) finishers.sort((a, b) => reqs.admitSeq[a] - reqs.admitSeq[b]);
      for (const r of finishers) {
        reqs.state[r] = ReqState.Done;
        reqs.finishS[r] = now;
        this.release(r);
        this.runningCount--;
      }
      for (const r of finishers) this.sinks.onFinish(r, now);
      if (this.running.length > 2 * this.runningCount + 64) this.compactRunning();
    }
    // Requests that just sampled and go on decoding join the lane; the rest stay explicit.
    const explicit = this.explicit;
    const entering = this.laneEnabled && this.laneCooldown === 0;
    if (this.laneCooldown > 0) this.laneCooldown--;
    if (!entering && finishers.length === 0) {
      this.busy = false;
      return;
    }
    let keep = 0;
    for (let i = 0; i < explicit.length; i++) {
      const r = explicit[i];
      if (reqs.state[r] !== ReqState.Running) continue;
      if (
        entering &&
        numComputed[r] === inputTokens[r] + numOutput[r] - 1 &&
        lastTokenS[r] === now &&
        this.enterLane(r)
      )
        continue;
      explicit[keep++] = r;
    }
    explicit.length = keep;
    this.busy = false;
  }

  /**
   * Fast-forward: from `now`, runs whole decode-lane steps back to back while nothing but token
   * counts changes (no explicit request, nobody waiting, no finish, no block shortage) and each
   * step ends before `limit` (the next event of the run). Returns the time the last one ended
   * (`now` when none ran). `onStepEnd` sees each step's end, as an event would.
   */
  fastForward(now: number, limit: number, onStepEnd: (t: number) => void): number {
    if (this.laneCount === 0 || this.explicit.length > 0 || this.wLen > 0 || this.busy) return now;
    if (this.lagPrev.length > 0 || this.lagNow.length > 0) return now;
    if (this.loadingReq.length > 0) return now;
    const tier = this.offload?.tier;
    const bs = this.cfg.blockSize;
    const heap = this.finishHeap;
    const reqs = this.reqs;
    const w = this.work;
    let t = now;
    for (;;) {
      while (
        heap.size > 0 &&
        !(reqs.inLane[heap.topReq] === 1 && reqs.laneStamp[heap.topReq] === heap.topStamp)
      )
        heap.pop();
      if (heap.topTick <= this.laneTick + 1) break;
      const n = this.laneCount;
      if (n > this.cfg.maxNumBatchedTokens) break;
      const laneNeed = this.phaseCount[(bs - (this.laneTick % bs)) % bs];
      if (laneNeed > this.pool.freeCount) break;
      w.numReqs = n;
      w.newTokens = n;
      w.numSampled = n;
      w.attnPairs = this.laneSumComputed + n;
      w.kvReadTokens = this.laneSumComputed;
      w.prefillReqs = w.prefillTokens = w.prefillPairs = w.prefillKvRead = 0;
      w.extraFlops = 0;
      w.peerTokens = 0;
      const dt = this.time.stepTime(w);
      const end = t + dt;
      if (!(end < limit)) break;
      if (laneNeed > 0) this.pool.allocate(laneNeed);
      if (tier) tier.storeAnonymous(this.phaseCount[(bs - ((this.laneTick + 1) % bs)) % bs]);
      this.steps++;
      this.batchSizeSum += n;
      this.usedBlockSeconds += this.pool.usedCount * dt;
      onStepEnd(end);
      this.laneTick++;
      this.laneSumComputed += n;
      this.sinks.gaps.add(end - t, n);
      this.lastStepEnd = end;
      if (this.laneCooldown > 0) this.laneCooldown--;
      t = end;
    }
    return t;
  }

  private isRunningEntry(i: number): boolean {
    const r = this.running[i];
    return this.reqs.state[r] === ReqState.Running && this.reqs.residency[r] === this.runningStamp[i];
  }

  private compactRunning(): void {
    let keep = 0;
    for (let i = 0; i < this.running.length; i++) {
      if (!this.isRunningEntry(i)) continue;
      this.running[keep] = this.running[i];
      this.runningStamp[keep] = this.runningStamp[i];
      keep++;
    }
    this.running.length = keep;
    this.runningStamp.length = keep;
  }

  /**
   * Prepares the next step for the fast path. Returns null when it cannot take it: the budget
   * would bind before some lane member, in admission order. Otherwise, when the blocks that the
   * requests to be scheduled need are not free, preempts the newest running requests until they
   * are, as the scheduler's walk would (it stops at the same, smallest, set of the newest), and
   * returns whether it preempted.
   */
  private laneStepFits(budget: number): boolean | null {
    const reqs = this.reqs;
    const bs = this.cfg.blockSize;
    let left = budget - this.laneCount;
    if (left < 0) return null;
    let blocks = this.phaseCount[(bs - (this.laneTick % bs)) % bs];
    const needs = this.explicitNeeds;
    needs.length = 0;
    for (const r of this.explicit) {
      if (left <= 0) {
        if (reqs.admitSeq[r] < this.laneMaxSeq) return null;
        needs.push(0);
        continue;
      }
      const computed = reqs.numComputed[r];
      const remaining = reqs.workload.inputTokens[r] + reqs.numOutput[r] - computed;
      const numNew = remaining < left ? remaining : left;
      // Budget binds at r: every lane member must precede it.
      if (numNew < remaining && reqs.admitSeq[r] < this.laneMaxSeq) return null;
      left -= numNew;
      const need = Math.ceil((computed + numNew) / bs) - this.blocksHeld(r);
      needs.push(need > 0 ? need : 0);
      blocks += need > 0 ? need : 0;
    }
    let preempted = false;
    while (blocks > this.pool.freeCount) {
      const v = this.popNewestRunning();
      if (reqs.inLane[v] === 1) {
        this.materialize(v);
        reqs.lastTokenS[v] = this.lastStepEnd;
        if (reqs.numComputed[v] % bs === 0) blocks--;
      } else {
        this.explicit.pop();
        blocks -= needs.pop()!;
      }
      this.preempt(v);
      preempted = true;
    }
    return preempted;
  }

  /** Removes and returns the newest running request (the preemption victim). */
  private popNewestRunning(): number {
    for (;;) {
      const i = this.running.length - 1;
      const ok = this.isRunningEntry(i);
      const r = this.running.pop()!;
      this.runningStamp.pop();
      if (ok) return r;
    }
  }

  /** Puts a decoding request in the lane; false when its block count is not the plain one. */
  private enterLane(r: number): boolean {
    const reqs = this.reqs;
    const bs = this.cfg.blockSize;
    const computed = reqs.numComputed[r];
    if (this.blocksHeld(r) !== Math.ceil(computed / bs)) return false;
    reqs.inLane[r] = 1;
    reqs.laneStamp[r] = ++this.laneStampCounter;
    reqs.laneBaseTick[r] = this.laneTick;
    reqs.laneBaseComputed[r] = computed;
    reqs.laneBaseOutput[r] = reqs.numOutput[r];
    this.phaseCount[(((computed - this.laneTick) % bs) + bs) % bs]++;
    this.laneSumComputed += computed;
    this.laneCount++;
    if (reqs.admitSeq[r] > this.laneMaxSeq) this.laneMaxSeq = reqs.admitSeq[r];
    this.finishHeap.push(
      this.laneTick + reqs.workload.outputTokens[r] - reqs.numOutput[r],
      reqs.admitSeq[r],
      r,
      reqs.laneStamp[r],
    );
    return true;
  }

  /** Writes a lane member's implicit counters back and takes it out of the lane. */
  private materialize(r: number): void {
    const reqs = this.reqs;
    const bs = this.cfg.blockSize;
    const d = this.laneTick - reqs.laneBaseTick[r];
    const computed = reqs.laneBaseComputed[r] + d;
    this.phaseCount[(((reqs.laneBaseComputed[r] - reqs.laneBaseTick[r]) % bs) + bs) % bs]--;
    this.laneSumComputed -= computed;
    if (--this.laneCount === 0) this.laneMaxSeq = -1;
    reqs.inLane[r] = 0;
    reqs.numComputed[r] = computed;
    reqs.numOutput[r] = reqs.laneBaseOutput[r] + d;
    const keys = reqs.sharedKeys[r];
    reqs.ownBlocks[r] = Math.ceil(computed / bs) - reqs.fusedAway[r] - (keys === null ? 0 : keys.length);
  }

  /**
   * Makes every lane member explicit again (before a step the fast path cannot take: a budget
   * that binds before the lane, typically long prefills); nobody re-enters for a while.
   */
  private leaveLane(): void {
    this.laneCooldown = LANE_COOLDOWN_STEPS;
    const explicit: number[] = [];
    this.compactRunning();
    for (const r of this.running) {
      if (this.reqs.inLane[r] === 1) {
        this.materialize(r);
        this.reqs.lastTokenS[r] = this.lastStepEnd;
      }
      explicit.push(r);
    }
    this.explicit = explicit;
    this.finishHeap.size = 0;
  }
}
