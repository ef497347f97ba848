import { EventQueue } from '../core/event-queue';
import { summarize, type Summary } from '../metrics/stats';
import { resultIntervals } from '../calibration/interval';
import { kernelCalibrationFor } from '../hardware/kernel-curves';
import { StepTimeModel } from '../time/step-time';
import { servingCalibrationText, servingFactorFor } from '../time/profiles';
import type { MoeSummary, SimulationResult } from '@kvplan/core';
import { remoteRanksPerToken } from '../time/moe';

export type { SimulationResult } from '@kvplan/core';
import type { ResolvedSpec } from '../types';
import { FusionModel } from './fusion';
import { GapRecorder } from './gap-recorder';
import { hostLinksFor, pipelinePlacement, transferTime } from '../hardware/host';
import { gpusPerReplica } from '../model/memory';
import { kvBytesPerTokenPerGpu } from '../model/size';
import { CpuKvTier } from './cpu-tier';
import { Replica, type ReplicaOffload } from './replica';
import { ReqState, RequestTable } from './request-table';

export const KVPLAN_SIM_VERSION = '0.1.0';

// Priorities at equal times: arrivals, then step ends, then step starts, so a step sees every
// request that arrived at its start time.
const EV_ARRIVAL = 0;
const EV_STEP_END = 1;
const EV_STEP_START = 2;
/** A replica's load from the CPU pool ended: start a step if it is idle. */
const EV_WAKE = 3;

export interface SimulationRun {
  result: SimulationResult;
  requests: RequestTable;
  spec: ResolvedSpec;
  /** Blocks still allocated per replica at the end (0 unless a block leaked). */
  leakedBlocks: number[];
}

export interface SimulateOptions {
  /** Called now and then with the fraction of requests finished. */
  onProgress?: (fraction: number) => void;
  /** false: keep every request explicit (the reference the decode lane is tested against). */
  decodeLane?: boolean;
  /** Called for every event the run processes (instrumentation). */
  onEvent?: () => void;
}

/** Runs one simulation to completion. Deterministic: the same spec gives the same result. */
export function simulate(spec: ResolvedSpec, opts: SimulateOptions = {}): SimulationRun {
  const w = spec.workload;
  const reqs = new RequestTable(w);
  const queue = new EventQueue();
  const gaps = new GapRecorder();
  const stages = spec.pipelineParallel ?? 1;
  const topo = spec.topology;
  const placement = pipelinePlacement(topo, spec.tensorParallel, stages);
  const time = new StepTimeModel(spec.model, spec.gpu, {
    tensorParallel: spec.tensorParallel,
    weightDtype: spec.engine.weightDtype,
    kvCacheDtype: spec.engine.kvCacheDtype,
    coefficients: spec.timeModel,
    maxTokensPerStep: spec.engine.maxNumBatchedTokens,
    topology: spec.topology,
    // Point to point: one direction of the fabric (its figure is both directions) or of the NIC.
    stageLinks: {
      intraNodeGBps: topo.linkGBps / 2,
      intraNodeLatencyS: topo.linkLatencyUs * 1e-6,
      interNodeGBps: topo.networkGBps,
      interNodeLatencyS: topo.networkLatencyUs * 1e-6,
    },
    dataParallel: spec.dataParallel,
    expertParallel: spec.expertParallel,
    loadImbalance: spec.moe.loadImbalance,
  });
  const frontend = spec.timeModel.frontendOverheadS;
  let finishedCount = 0;
  let lastFinish = 0;
  const progressEvery = Math.max(1, Math.floor(w.n / 100));
  const sinks = {
    gaps,
    onFinish(_r: number, now: number) {
      finishedCount++;
      if (now > lastFinish) lastFinish = now;
      if (opts.onProgress && finishedCount % progressEvery === 0) opts.onProgress(finishedCount / w.n);
    },
  };
  const fusion = spec.fusion ? new FusionModel(spec.fusion, spec.model, spec.engine.blockSize) : null;
  const offloadFor = offloadModel(spec);
  const replicas: Replica[] = [];
  const dp = spec.dataParallel;
  for (let i = 0; i < spec.replicas * dp; i++) {
    replicas.push(
      new Replica(
        {
          blockSize: spec.engine.blockSize,
          maxNumSeqs: spec.engine.maxNumSeqs,
          maxNumBatchedTokens: spec.engine.maxNumBatchedTokens,
          numGpuBlocks: spec.engine.numGpuBlocks,
          enablePrefixCaching: spec.engine.enablePrefixCaching,
          decodeLane: opts.decodeLane,
          pipelineParallel: stages,
          interNodeBoundary: placement.interNodeBoundary,
          asyncScheduling: spec.engine.asyncScheduling !== false,
        },
        reqs,
        time,
        sinks,
        fusion,
        offloadFor?.() ?? null,
      ),
    );
  }

  // Time series state.
  const res = spec.timeseriesResolutionS;
  const ts = res
    ? {
        resolution_s: res,
        t: [] as number[],
        kv_used_blocks: [] as number[],
        running: [] as number[],
        waiting: [] as number[],
      }
    : undefined;
  let nextSample = 0;
  const sample = (now: number) => {
    while (ts && now >= nextSample) {
      let used = 0;
      let running = 0;
      let waiting = 0;
      for (const rep of replicas) {
        used += rep.pool.usedCount;
        running += rep.numRunning;
        waiting += rep.numWaiting;
      }
      ts.t.push(nextSample);
      ts.kv_used_blocks.push(used);
      ts.running.push(running);
      ts.waiting.push(waiting);
      nextSample += res!;
    }
  };

  let rr = 0;
  const route = (): Replica => {
    if (replicas.length === 1) return replicas[0];
    if (spec.router === 'round-robin') return replicas[rr++ % replicas.length];
    let best = replicas[0];
    for (let i = 1; i < replicas.length; i++) if (replicas[i].load < best.load) best = replicas[i];
    return best;
  };
  // Engines step on their own, except the data-parallel ranks of a replica whose MoE layers are
  // shared: those step in lockstep (every rank with work starts together, the step lasts as long
  // as the slowest rank, and the MoE layers see the tokens of all of them). Units are engines, or
  // lockstep groups.
  const lockstep = time.sharedMoe;
  const unit = lockstep ? dp : 1;
  const startPending = new Uint8Array(replicas.length / unit);
  const unitBusy = new Uint8Array(replicas.length / unit);
  const stepping = new Uint8Array(replicas.length);
  const moeStats = { steps: 0, tokens: 0, moeS: 0, stepS: 0 };
  const start = (rep: Replica, index: number, now: number) => {
    const dt = rep.startStep(now);
    if (dt >= 0) {
      queue.push(now + dt, EV_STEP_END, EV_STEP_END, index);
      // Pipeline parallelism: room for another batch in flight.
      if (!rep.busy) kick(rep, index, now);
    } else if (rep.wakeAt < Infinity) queue.push(rep.wakeAt, EV_WAKE, EV_WAKE, index);
  };
  /** Starts the idle replica's next step after every event at this instant. */
  const kick = (rep: Replica, index: number, now: number) => {
    if (rep.busy || startPending[index]) return;
    // Under pipeline parallelism the engine schedules the next batch once the last one's host work is done.
    if (rep.nextLaunchS > now) {
      startPending[index] = 1;
      queue.push(rep.nextLaunchS, EV_STEP_START, EV_STEP_START, index);
    } else if (queue.peekTime() > now) start(rep, index, now);
    else {
      startPending[index] = 1;
      queue.push(now, EV_STEP_START, EV_STEP_START, index);
    }
  };
  /** One lockstep step of group `u`: every rank with work, as long as the slowest. */
  const startGroup = (u: number, now: number) => {
    let tokens = 0;
    let any = false;
    let wake = Infinity;
    for (let i = u * unit; i < (u + 1) * unit; i++) {
      const on = replicas[i].startStep(now) >= 0;
      stepping[i] = on ? 1 : 0;
      if (on) {
        tokens += replicas[i].stepTokens;
        any = true;
      } else if (replicas[i].wakeAt < wake) wake = replicas[i].wakeAt;
    }
    if (!any) {
      if (wake < Infinity) queue.push(wake, EV_WAKE, EV_WAKE, u);
      return;
    }
    let dt = 0;
    for (let i = u * unit; i < (u + 1) * unit; i++)
      if (stepping[i]) {
        const own = replicas[i].retime(tokens - replicas[i].stepTokens);
        if (own > dt) dt = own;
      }
    for (let i = u * unit; i < (u + 1) * unit; i++) if (stepping[i]) replicas[i].setStepDuration(dt);
    moeStats.steps++;
    moeStats.tokens += tokens;
    moeStats.moeS += time.moeTime(tokens);
    moeStats.stepS += dt;
    unitBusy[u] = 1;
    queue.push(now + dt, EV_STEP_END, EV_STEP_END, u);
  };
  /** Starts the idle group's next step after every event at this instant. */
  const kickGroup = (u: number, now: number) => {
    if (unitBusy[u] || startPending[u]) return;
    if (queue.peekTime() > now) startGroup(u, now);
    else {
      startPending[u] = 1;
      queue.push(now, EV_STEP_START, EV_STEP_START, u);
    }
  };

  if (w.n > 0) queue.push(w.arrivalS[0], EV_ARRIVAL, EV_ARRIVAL, 0);
  const ev = { time: 0, kind: 0, target: 0 };
  while (queue.pop(ev)) {
    const now = ev.time;
    opts.onEvent?.();
    sample(now);
    if (ev.kind === EV_ARRIVAL) {
      const r = ev.target;
      if (r + 1 < w.n) queue.push(w.arrivalS[r + 1], EV_ARRIVAL, EV_ARRIVAL, r + 1);
      if (w.inputTokens[r] + w.outputTokens[r] > spec.engine.maxModelLen) {
        reqs.state[r] = ReqState.Failed;
        sinks.onFinish(r, now);
        continue;
      }
      const rep = route();
      const index = replicas.indexOf(rep);
      reqs.replica[r] = index;
      rep.arrive(r);
      if (lockstep) kickGroup((index / unit) | 0, now);
      else kick(rep, index, now);
    } else if (lockstep) {
      const u = ev.target;
      if (ev.kind === EV_STEP_END) {
        for (let i = u * unit; i < (u + 1) * unit; i++) if (stepping[i]) replicas[i].endStep(now);
        unitBusy[u] = 0;
        kickGroup(u, now);
      } else if (ev.kind === EV_STEP_START) {
        startPending[u] = 0;
        startGroup(u, now);
      } else kickGroup(u, now);
    } else if (ev.kind === EV_STEP_END) {
      const rep = replicas[ev.target];
      rep.endStep(now);
      // Returns now unless the replica's decode lane can run ahead (never with the lane off).
      const t = rep.fastForward(now, queue.peekTime(), sample);
      kick(rep, ev.target, t);
    } else if (ev.kind === EV_STEP_START) {
      startPending[ev.target] = 0;
      start(replicas[ev.target], ev.target, now);
    } else kick(replicas[ev.target], ev.target, now);
  }

  const result = buildResult(spec, reqs, replicas, gaps, frontend, lastFinish, ts);
  if (lockstep) result.meta.moe = moeSummary(spec, time, moeStats);
  return { result, requests: reqs, spec, leakedBlocks: replicas.map((r) => r.pool.usedCount) };
}

/** Convenience: only the result document. */
export function runSimulation(spec: ResolvedSpec, opts: SimulateOptions = {}): SimulationResult {
  return simulate(spec, opts).result;
}

function buildResult(
  spec: ResolvedSpec,
  reqs: RequestTable,
  replicas: Replica[],
  gaps: GapRecorder,
  frontend: number,
  lastFinish: number,
  timeseries: SimulationResult['timeseries'],
): SimulationResult {
  const w = spec.workload;
  const ttft = new Float64Array(reqs.n);
  const tpot = new Float64Array(reqs.n);
  const e2el = new Float64Array(reqs.n);
  let withTpot = 0;
  let completed = 0;
  let failed = 0;
  let inTok = 0;
  let outTok = 0;
  let good = 0;
  const slo = spec.slo;
  const sloTtft = slo?.ttftMs ? sloValue(slo.ttftMs) : Infinity;
  const sloTpot = slo?.tpotMs ? sloValue(slo.tpotMs) : Infinity;
  const sloE2e = slo?.e2elMs ? sloValue(slo.e2elMs) : Infinity;
  for (let r = 0; r < reqs.n; r++) {
    if (reqs.state[r] !== ReqState.Done) {
      failed++;
      continue;
    }
    inTok += w.inputTokens[r];
    outTok += reqs.numOutput[r];
    const t = (reqs.firstTokenS[r] - w.arrivalS[r] + frontend) * 1000;
    const e = (reqs.finishS[r] - w.arrivalS[r] + frontend) * 1000;
    let tp = 0;
    if (reqs.numOutput[r] > 1) {
      tp = (e - t) / (reqs.numOutput[r] - 1);
      tpot[withTpot++] = tp;
    }
    if (t <= sloTtft && tp <= sloTpot && e <= sloE2e) good++;
    ttft[completed] = t;
    e2el[completed] = e;
    completed++;
  }
  const first = w.n > 0 ? w.arrivalS[0] : 0;
  const duration = Math.max(lastFinish - first, 1e-9);
  const itl = gaps.summary(1000);
  let steps = 0;
  let batch = 0;
  let usedBlockSeconds = 0;
  let peak = 0;
  let preemptions = 0;
  for (const rep of replicas) {
    steps += rep.steps;
    batch += rep.batchSizeSum;
    usedBlockSeconds += rep.usedBlockSeconds;
    peak = Math.max(peak, rep.pool.peakUsed());
    preemptions += rep.preemptionCount;
  }
  const engines = spec.replicas * spec.dataParallel;
  const blocksTotal = spec.engine.numGpuBlocks * engines;
  const gpus = spec.replicas * gpusPerReplica(spec);
  const out: SimulationResult = {
    duration,
    completed,
    failed,
    total_input_tokens: inTok,
    total_output_tokens: outTok,
    request_throughput: completed / duration,
    ...(slo ? { request_goodput: good / duration } : {}),
    output_throughput: outTok / duration,
    total_token_throughput: (inTok + outTok) / duration,
    ...metricBlock('ttft', summarize(ttft.subarray(0, completed))),
    ...metricBlock('tpot', summarize(tpot.subarray(0, withTpot))),
    ...metricBlock('itl', itl),
    ...metricBlock('e2el', summarize(e2el.subarray(0, completed))),
    preemptions,
    kv_blocks_total: blocksTotal,
    kv_peak_used_blocks: peak,
    kv_mean_used_fraction: usedBlockSeconds / (spec.engine.numGpuBlocks * duration * engines),
    mean_batch_size: steps > 0 ? batch / steps : 0,
    ...(spec.cost && outTok > 0
      ? {
          cost_per_million_output_tokens_usd:
            (spec.cost.gpuHourUsd * gpus * (duration / 3600)) / (outTok / 1e6),
        }
      : {}),
    fusion: spec.fusion ? fusionSummary(replicas) : null,
    ...(spec.kvOffload ? { kv_offload: offloadSummary(spec, replicas, reqs) } : {}),
    ...((spec.pipelineParallel ?? 1) > 1
      ? { pipeline: pipelineSummary(spec.pipelineParallel!, replicas) }
      : {}),
    ...(timeseries ? { timeseries } : {}),
    meta: {
      kvplan_version: KVPLAN_SIM_VERSION,
      seed: spec.seed,
      calibration_profile: spec.timeModel.name,
      calibrated: kernelCalibrationFor(spec.gpu).source,
      serving_factor: servingFactorFor(spec.timeModel, spec.gpu.id)?.factor ?? 1,
      serving_calibrated: servingCalibrationText(servingFactorFor(spec.timeModel, spec.gpu.id)),
      replicas: spec.replicas,
      gpus,
      ...(spec.dataParallel > 1 ? { data_parallel: spec.dataParallel } : {}),
    },
  } as SimulationResult;
  out.intervals = resultIntervals(out.meta.calibrated, [out as unknown as Record<string, unknown>]);
  return out;
}

/**
 * CPU KV offload per replica (null when off or without prefix caching, which the offloading
 * connector's block lookups need): a pool of the spec's blocks, and loads that move each GPU's
 * shard of the blocks over its own host link, the GPUs of a replica at once.
 */
function offloadModel(spec: ResolvedSpec): (() => ReplicaOffload) | null {
  const o = spec.kvOffload;
  if (!o || !spec.engine.enablePrefixCaching) return null;
  const link = hostLinksFor(spec.gpu);
  const bytesPerBlockPerGpu =
    (kvBytesPerTokenPerGpu(spec.model, spec.engine.kvCacheDtype, spec.tensorParallel) *
      spec.engine.blockSize) /
    (spec.pipelineParallel ?? 1);
  const n = spec.workload.n;
  return () => ({
    tier: new CpuKvTier(o.numCpuBlocks, n),
    loadTime: (blocks) =>
      transferTime(blocks * bytesPerBlockPerGpu, link.hostToDeviceGBps, link.hostTransferLatencyS),
  });
}

function offloadSummary(
  spec: ResolvedSpec,
  replicas: Replica[],
  reqs: RequestTable,
): NonNullable<SimulationResult['kv_offload']> {
  let stored = 0;
  let loads = 0;
  let loadS = 0;
  for (const rep of replicas) {
    const t = rep.cpuTier;
    if (!t) continue;
    stored += t.stored;
    loads += t.loads;
    loadS += t.loadSeconds;
  }
  let hit = 0;
  for (let r = 0; r < reqs.n; r++) hit += reqs.cpuHitTokens[r];
  return {
    cpu_blocks: spec.kvOffload!.numCpuBlocks * spec.replicas,
    stored_blocks: stored,
    cpu_hit_tokens: hit,
    loads,
    load_s: loadS,
  };
}

/** Bubbles: the share of stage time idle while the pipeline had a batch in flight. */
function pipelineSummary(stages: number, replicas: Replica[]): NonNullable<SimulationResult['pipeline']> {
  let busy = 0;
  let active = 0;
  let transfer = 0;
  for (const rep of replicas) {
    busy += rep.stageBusyS;
    active += rep.pipelineActiveS;
    transfer += rep.transferS;
  }
  return {
    stages,
    bubble_fraction: active > 0 ? Math.min(1, Math.max(0, 1 - busy / (stages * active))) : 0,
    transfer_s: transfer,
  };
}

/**
 * What the MoE layers cost: their share of the lockstep steps, and at the mean tokens per step
 * the milliseconds the load imbalance adds over a perfect balance (its effect).
 */
function moeSummary(
  spec: ResolvedSpec,
  time: StepTimeModel,
  s: { steps: number; tokens: number; moeS: number; stepS: number },
): MoeSummary {
  const e = spec.model.numExperts;
  const ranks = time.expertRanks;
  const mean = s.steps > 0 ? s.tokens / s.steps : 0;
  const tokens = Math.max(1, Math.round(mean));
  return {
    expert_parallel: spec.expertParallel,
    expert_ranks: ranks,
    experts_per_rank: spec.expertParallel ? e / ranks : e,
    load_imbalance: spec.expertParallel ? spec.moe.loadImbalance : 1,
    dispatch_remote_ranks_per_token: spec.expertParallel
      ? remoteRanksPerToken(e, spec.model.expertsPerToken, ranks)
      : spec.dataParallel - 1,
    mean_tokens_per_step: mean,
    moe_share_of_step_time: s.stepS > 0 ? s.moeS / s.stepS : 0,
    imbalance_ms_per_step: spec.expertParallel ? (time.moeTime(tokens) - time.moeTime(tokens, 0)) * 1000 : 0,
  };
}

function fusionSummary(replicas: Replica[]): NonNullable<SimulationResult['fusion']> {
  let freed = 0;
  let seen = 0;
  let overhead = 0;
  for (const rep of replicas) {
    freed += rep.fusionBlocksFreed;
    seen += rep.fusionBlocksSeen;
    overhead += rep.fusionOverheadS;
  }
  return { blocks_freed: freed, fused_fraction: seen > 0 ? freed / seen : 0, overhead_s: overhead };
}

function sloValue(s: { p99?: number; p90?: number; p50?: number }): number {
  return s.p99 ?? s.p90 ?? s.p50 ?? Infinity;
}

function metricBlock(name: string, s: Summary): Record<string, number> {
  return {
    [`mean_${name}_ms`]: s.mean,
    [`median_${name}_ms`]: s.median,
    [`std_${name}_ms`]: s.std,
    [`p90_${name}_ms`]: s.p90,
    [`p99_${name}_ms`]: s.p99,
  };
}
