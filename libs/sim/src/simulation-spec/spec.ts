import {
  checkKeys,
  InputError,
  isObj,
  IssueCollector,
  num,
  optBool,
  optEnum,
  optNum,
  optSection,
  show,
  validateFusionProfile,
  type Obj,
} from '@kvplan/core';
import { isA100, resolveGpuInto } from '../hardware/gpus';
import { resolveTopologyInto, topologyGpus, type Topology } from '../hardware/topology';
import { DTYPE_SPELLINGS, KV_DTYPE_SPELLINGS, parseDtype, parseKvCacheDtype } from '../model/dtypes';
import { cpuKvBlocks, deriveKvCapacity } from '../model/memory';
import { hostLinksFor } from '../hardware/host';
import { resolveModelInto } from '../model/resolve';
import { DEFAULT_LOAD_IMBALANCE } from '../time/moe';
import type {
  EngineConfig,
  FusionConfig,
  GpuSpec,
  KvOffloadConfig,
  ModelArch,
  ResolvedSpec,
  RouterPolicy,
  SloSpec,
  Workload,
} from '../types';
import { loadWorkload } from '../workload';
import { resolveTimeModelInto } from './calibration';
import { ALL_SPEC_FILE_KINDS, FILES_NOT_READ, type SpecFileKind } from './files';
import { loadFusionProfile } from './fusion-profile';
import { specKeysUnder } from './reference';

// The allowed keys come from the spec reference table (simulation-spec/reference.ts), which docs/ is generated from.
export const SPEC_KEYS = specKeysUnder('');
export const ENGINE_KEYS = specKeysUnder('engine');
export const FUSION_KEYS = specKeysUnder('fusion');
export const KV_OFFLOAD_KEYS = specKeysUnder('kvOffload');
export const MOE_KEYS = specKeysUnder('moe');
export const ROUTERS: readonly RouterPolicy[] = ['round-robin', 'least-loaded'];
/** Largest KV block size accepted: vLLM's CUDA attention backends take powers of two up to 256. */
export const MAX_BLOCK_SIZE = 256;
/** Requests over maxModelLen listed one by one before the rest are only counted. */
const MAX_LISTED_REQUESTS = 20;

export interface SpecOptions {
  /** The spec's file name, for YAML syntax errors (`spec.yaml:12`). */
  fileName?: string;
  /** Directory that relative paths in the spec (model config, trace, profiles) are resolved against. */
  baseDir: string;
  /**
   * A kvplan-fusion-profile/1 document given as an object (a stored profile), used instead of a
   * `fusion.profile` file; validated here like a file's. Ignored when the spec has no fusion.
   */
  fusionProfile?: unknown;
  /** The kinds of file the spec may name (default: all, as the CLI); see SpecFileKind. */
  files?: readonly SpecFileKind[];
}

/**
 * vLLM V1's engine limits for the OpenAI API server by GPU class: 1024 sequences and 8192
 * batched tokens on GPUs of 70 GiB or more other than the A100, else 256 and 2048.
 */
export function defaultEngineLimits(gpu: GpuSpec): { maxNumSeqs: number; maxNumBatchedTokens: number } {
  return gpu.memoryGiB >= 70 && !isA100(gpu)
    ? { maxNumSeqs: 1024, maxNumBatchedTokens: 8192 }
    : { maxNumSeqs: 256, maxNumBatchedTokens: 2048 };
}

/** Tensor-parallel degree problems for `model` (vLLM's rules), or null when it is fine. */
export function tensorParallelProblem(model: ModelArch, tp: number): string | null {
  if (model.numHeads % tp !== 0) return `${tp} does not divide the model's ${model.numHeads} attention heads`;
  if (tp <= model.numKvHeads ? model.numKvHeads % tp !== 0 : tp % model.numKvHeads !== 0)
    return `${tp} neither divides the model's ${model.numKvHeads} KV heads nor is a multiple of them`;
  return null;
}

/** Pipeline-parallel problems for `model` (vLLM splits whole layers evenly), or null when it is fine. */
export function pipelineParallelProblem(model: ModelArch, pp: number): string | null {
  if (model.numLayers % pp !== 0)
    return `${pp} does not divide the model's ${model.numLayers} layers (each stage takes an equal share of whole layers)`;
  return null;
}

/**
 * `kvOffload`: the CPU pool's size in blocks, and a check that the pools of the replicas sharing a
 * node fit in its host memory. Null when absent or bad (after reporting).
 */
function resolveKvOffload(
  v: unknown,
  ctx: {
    model: ModelArch;
    gpu: GpuSpec;
    gpusPerNode: number;
    engine: EngineConfig | null;
    tensorParallel: number;
    pipelineParallel: number;
    replicas: number;
    issues: IssueCollector;
  },
): KvOffloadConfig | null {
  const { issues } = ctx;
  const o = optSection(v, 'kvOffload', issues, `{${KV_OFFLOAD_KEYS.join(', ')}}`);
  if (!o) return null;
  const before = issues.issues.length;
  checkKeys(o, KV_OFFLOAD_KEYS, 'kvOffload', issues);
  const cpuGiB = num(o.cpuGiB, 'kvOffload.cpuGiB', issues, { min: 0, above: true });
  const node = { ...hostLinksFor(ctx.gpu), gpusPerNode: ctx.gpusPerNode };
  const hostMemoryGiB = optNum(
    o.hostMemoryGiB,
    'kvOffload.hostMemoryGiB',
    issues,
    { min: 0, above: true },
    node.hostMemoryGiB,
  );
  if (issues.issues.length > before || cpuGiB === undefined || hostMemoryGiB === undefined || !ctx.engine)
    return null;
  // One replica's GPUs share its pool; replicas smaller than a node share that node's memory.
  const gpusPerReplica = ctx.tensorParallel * ctx.pipelineParallel;
  const perNode =
    gpusPerReplica >= node.gpusPerNode
      ? {
          need: (cpuGiB * node.gpusPerNode) / gpusPerReplica,
          what: `a node's ${node.gpusPerNode} GPUs' share of the pool`,
        }
      : (() => {
          const n = Math.min(ctx.replicas, Math.floor(node.gpusPerNode / gpusPerReplica));
          return {
            need: cpuGiB * n,
            what: `${n} replica${n > 1 ? 's' : ''} of ${gpusPerReplica} GPU${gpusPerReplica > 1 ? 's' : ''} on a node of ${node.gpusPerNode}`,
          };
        })();
  if (perNode.need > hostMemoryGiB) {
    issues.add(
      'kvOffload.cpuGiB',
      `${cpuGiB} GiB per replica needs ${+perNode.need.toFixed(2)} GiB of host memory per node (${perNode.what}), ` +
        `more than the node's ${hostMemoryGiB} GiB${o.hostMemoryGiB === undefined ? ` (gpu ${ctx.gpu.id}'s node; set kvOffload.hostMemoryGiB for another)` : ' (kvOffload.hostMemoryGiB)'}`,
    );
    return null;
  }
  const { numCpuBlocks, blockBytes } = cpuKvBlocks(ctx.model, ctx.engine, ctx.tensorParallel, cpuGiB);
  if (numCpuBlocks < 1) {
    issues.add(
      'kvOffload.cpuGiB',
      `${cpuGiB} GiB holds no KV block (one block of ${ctx.engine.blockSize} tokens takes ${blockBytes} bytes over the replica's GPUs)`,
    );
    return null;
  }
  return { cpuGiB, hostMemoryGiB, numCpuBlocks };
}

/**
 * Validates an already-parsed simulation spec (DESIGN.md "Simulation spec"), fills every default,
 * resolves the model, GPU, KV capacity, calibration and fusion profile, and materialises the
 * workload. Every problem found anywhere is thrown together in one InputError.
 */
export function resolveSimulationSpec(raw: unknown, opts: SpecOptions): ResolvedSpec {
  const issues = new IssueCollector();
  const files = opts.files ?? ALL_SPEC_FILE_KINDS;
  if (!isObj(raw)) {
    throw new InputError([
      {
        path: opts.fileName ?? '',
        message: `expected a spec object with at least model, gpu and workload, got ${show(raw)}`,
      },
    ]);
  }
  checkKeys(raw, SPEC_KEYS, '', issues);

  let model: ModelArch | null = null;
  if (raw.model === undefined)
    issues.add('model', 'required: a model preset, a path to a config.json, or config keys inline');
  else
    model = resolveModelInto(
      raw.model,
      { baseDir: opts.baseDir, path: 'model', files: files.includes('model') },
      issues,
    );

  let gpu: GpuSpec | null = null;
  if (raw.gpu === undefined) issues.add('gpu', 'required: a GPU preset id or an inline GPU object');
  else gpu = resolveGpuInto(raw.gpu, { baseDir: opts.baseDir, path: 'gpu' }, issues);

  const tensorParallel = optNum(
    raw.tensorParallel,
    'tensorParallel',
    issues,
    { integer: true, min: 1, max: 1024 },
    1,
  );
  let tpOk = tensorParallel !== undefined;
  if (model && tensorParallel !== undefined) {
    const problem = tensorParallelProblem(model, tensorParallel);
    if (problem) issues.add('tensorParallel', problem);
    tpOk = problem === null;
  }
  const dataParallel = optNum(
    raw.dataParallel,
    'dataParallel',
    issues,
    { integer: true, min: 1, max: 1024 },
    1,
  );
  const expertParallel = optBool(raw.expertParallel, 'expertParallel', issues, false);
  const moe = resolveMoe(raw.moe, issues);
  if (model && expertParallel && tensorParallel !== undefined && dataParallel !== undefined) {
    const ranks = tensorParallel * dataParallel;
    if (model.numExperts === 0)
      issues.add('expertParallel', `${model.id} is a dense model: it has no experts to spread`);
    else if (model.numExperts % ranks !== 0)
      issues.add(
        'expertParallel',
        `tensorParallel x dataParallel = ${ranks} ranks do not divide the model's ${model.numExperts} experts ` +
          `(expert parallelism puts numExperts / ranks whole experts on each GPU)`,
      );
  }
  const topology = resolveTopologyInto(raw.topology, gpu, 'topology', issues);
  const pipelineParallel = optNum(
    raw.pipelineParallel,
    'pipelineParallel',
    issues,
    { integer: true, min: 1, max: 1024 },
    1,
  );
  let ppOk = pipelineParallel !== undefined;
  if (model && pipelineParallel !== undefined) {
    const problem = pipelineParallelProblem(model, pipelineParallel);
    if (problem) issues.add('pipelineParallel', problem);
    ppOk = problem === null;
  }
  if (
    model &&
    pipelineParallel !== undefined &&
    pipelineParallel > 1 &&
    dataParallel !== undefined &&
    sharesMoe(model, dataParallel, expertParallel === true)
  )
    issues.add(
      'pipelineParallel',
      'pipeline stages with MoE layers shared by data-parallel ranks (dataParallel > 1 or expertParallel) are not modelled; use one of them',
    );
  if (
    topology &&
    tensorParallel !== undefined &&
    pipelineParallel !== undefined &&
    dataParallel !== undefined
  ) {
    const gpus = tensorParallel * pipelineParallel * dataParallel;
    if (gpus > topologyGpus(topology))
      issues.add(
        dataParallel > 1 ? 'dataParallel' : pipelineParallel > 1 ? 'pipelineParallel' : 'tensorParallel',
        `tensorParallel ${tensorParallel}${pipelineParallel > 1 ? ` x pipelineParallel ${pipelineParallel}` : ''}` +
          `${dataParallel > 1 ? ` x dataParallel ${dataParallel}` : ''} = ${gpus} GPUs are more than the topology's ` +
          `${topologyGpus(topology)} (topology.nodes ${topology.nodes} x gpusPerNode ${topology.gpusPerNode})`,
      );
  }
  const replicas = optNum(raw.replicas, 'replicas', issues, { integer: true, min: 1, max: 100_000 }, 1);
  const router = optEnum(raw.router, 'router', issues, ROUTERS, 'least-loaded');
  const seed = optNum(raw.seed, 'seed', issues, { integer: true, min: 0 }, 1);

  const engineIn = optSection(raw.engine, 'engine', issues, `{${ENGINE_KEYS.join(', ')}}`);
  const engine = engineIn === undefined ? null : resolveEngine(engineIn ?? {}, model, gpu, issues);

  // KV capacity: only when everything it depends on is valid.
  let numGpuBlocks: number | null = null;
  if (model && gpu && engine && tensorParallel !== undefined && dataParallel !== undefined && tpOk && ppOk) {
    try {
      const expertShards = sharesMoe(model, dataParallel, expertParallel === true)
        ? tensorParallel * dataParallel
        : tensorParallel;
      numGpuBlocks = deriveKvCapacity({
        model,
        gpu,
        engine,
        tensorParallel,
        pipelineParallel,
        expertShards,
      }).numGpuBlocks;
    } catch (err) {
      if (!(err instanceof InputError)) throw err;
      for (const i of err.issues) issues.add(i.path, i.message);
    }
    if (numGpuBlocks !== null && numGpuBlocks * engine.blockSize < engine.maxModelLen) {
      const tokens = numGpuBlocks * engine.blockSize;
      issues.add(
        'engine.maxModelLen',
        `${engine.maxModelLen}${engineIn?.maxModelLen === undefined ? ` (the model's default)` : ''} is more than the ` +
          `${tokens} tokens the KV cache holds (${numGpuBlocks} blocks of ${engine.blockSize}); vLLM refuses to start: ` +
          `set engine.maxModelLen to at most ${tokens}, or give the KV cache more memory`,
      );
    }
  }

  let workload: Workload | null = null;
  if (raw.workload === undefined)
    issues.add(
      'workload',
      'required: {trace: PATH} or a generator {arrival, numRequests, inputTokens, outputTokens}',
    );
  else {
    try {
      workload = loadWorkload(raw.workload, {
        baseDir: opts.baseDir,
        seed: seed ?? 1,
        path: 'workload',
        files,
      });
    } catch (err) {
      if (!(err instanceof InputError)) throw err;
      for (const i of err.issues) issues.add(i.path, i.message);
    }
  }
  if (workload && engine) checkRequestLengths(workload, engine.maxModelLen, issues);

  const kvOffload =
    model && gpu && engine && tensorParallel !== undefined && pipelineParallel !== undefined
      ? resolveKvOffload(raw.kvOffload, {
          model,
          gpu,
          gpusPerNode: topology?.gpusPerNode ?? gpu.gpusPerNode,
          engine,
          tensorParallel,
          pipelineParallel,
          replicas: replicas ?? 1,
          issues,
        })
      : null;
  const fusion = resolveFusion(raw.fusion, opts, files.includes('profile'), issues);
  const slo = resolveSlo(raw.slo, issues);
  const cost = resolveCost(raw.cost, issues);
  const timeModel = resolveTimeModelInto(
    raw.calibration,
    opts.baseDir,
    'calibration',
    issues,
    files.includes('calibration'),
  );
  const ts = optSection(raw.timeseries, 'timeseries', issues, '{resolutionS}');
  let timeseriesResolutionS: number | null = null;
  if (ts) {
    checkKeys(ts, ['resolutionS'], 'timeseries', issues);
    timeseriesResolutionS =
      num(ts.resolutionS, 'timeseries.resolutionS', issues, { min: 0, above: true }) ?? null;
  }

  issues.throwIfAny();
  return {
    model: model as ModelArch,
    gpu: gpu as GpuSpec,
    topology: topology as Topology,
    tensorParallel: tensorParallel as number,
    pipelineParallel: pipelineParallel as number,
    kvOffload,
    dataParallel: dataParallel as number,
    expertParallel: expertParallel as boolean,
    moe: { loadImbalance: moe?.loadImbalance ?? DEFAULT_LOAD_IMBALANCE },
    replicas: replicas as number,
    router: router as RouterPolicy,
    engine: { ...(engine as EngineConfig), numGpuBlocks: numGpuBlocks as number },
    workload: workload as Workload,
    fusion,
    slo,
    cost,
    seed: seed as number,
    timeModel: timeModel as ResolvedSpec['timeModel'],
    timeseriesResolutionS,
  };
}

/** Validates `engine` and fills vLLM V1's defaults; null after reporting issues. */
function resolveEngine(
  e: Obj,
  model: ModelArch | null,
  gpu: GpuSpec | null,
  issues: IssueCollector,
): EngineConfig | null {
  const before = issues.issues.length;
  checkKeys(e, ENGINE_KEYS, 'engine', issues);
  const limits = gpu ? defaultEngineLimits(gpu) : { maxNumSeqs: 256, maxNumBatchedTokens: 2048 };

  const blockSize = optNum(
    e.blockSize,
    'engine.blockSize',
    issues,
    { integer: true, min: 1, max: MAX_BLOCK_SIZE },
    16,
  );
  if (blockSize !== undefined && (blockSize & (blockSize - 1)) !== 0)
    issues.add(
      'engine.blockSize',
      `expected a power of two from 1 to ${MAX_BLOCK_SIZE} (vLLM's block sizes), got ${blockSize}`,
    );
  const maxNumSeqs = optNum(
    e.maxNumSeqs,
    'engine.maxNumSeqs',
    issues,
    { integer: true, min: 1 },
    limits.maxNumSeqs,
  );
  const maxNumBatchedTokens = optNum(
    e.maxNumBatchedTokens,
    'engine.maxNumBatchedTokens',
    issues,
    { integer: true, min: 1 },
    limits.maxNumBatchedTokens,
  );
  if (maxNumSeqs !== undefined && maxNumBatchedTokens !== undefined && maxNumBatchedTokens < maxNumSeqs)
    issues.add(
      'engine.maxNumBatchedTokens',
      `${maxNumBatchedTokens} is less than engine.maxNumSeqs ${maxNumSeqs}; vLLM requires maxNumBatchedTokens >= maxNumSeqs`,
    );

  let maxModelLen: number | undefined;
  if (e.maxModelLen === undefined) maxModelLen = model?.maxPositionEmbeddings;
  else {
    maxModelLen = num(e.maxModelLen, 'engine.maxModelLen', issues, { integer: true, min: 1 });
    if (maxModelLen !== undefined && model && maxModelLen > model.maxPositionEmbeddings) {
      issues.add(
        'engine.maxModelLen',
        `${maxModelLen} is more than the model's max_position_embeddings ${model.maxPositionEmbeddings}`,
      );
    }
  }

  const gpuMemoryUtilization = optNum(
    e.gpuMemoryUtilization,
    'engine.gpuMemoryUtilization',
    issues,
    { min: 0, above: true, max: 1 },
    0.9,
  );
  if (e.gpuMemoryUtilization !== undefined && gpuMemoryUtilization === undefined)
    issues.issues[issues.issues.length - 1].message =
      `expected a fraction in (0, 1], got ${show(e.gpuMemoryUtilization)}`;
  const numGpuBlocks =
    e.numGpuBlocks === undefined || e.numGpuBlocks === null
      ? undefined
      : num(e.numGpuBlocks, 'engine.numGpuBlocks', issues, { integer: true, min: 1 });
  const enablePrefixCaching = optBool(e.enablePrefixCaching, 'engine.enablePrefixCaching', issues, true);
  const asyncScheduling = optBool(e.asyncScheduling, 'engine.asyncScheduling', issues, true);

  let kvCacheDtype: EngineConfig['kvCacheDtype'] | null = 'auto';
  if (e.kvCacheDtype !== undefined) {
    kvCacheDtype = typeof e.kvCacheDtype === 'string' ? parseKvCacheDtype(e.kvCacheDtype) : null;
    if (!kvCacheDtype)
      issues.add(
        'engine.kvCacheDtype',
        `expected one of ${KV_DTYPE_SPELLINGS.join(', ')}, got ${show(e.kvCacheDtype)}`,
      );
  }
  let weightDtype = model?.dtype ?? null;
  if (e.weightDtype !== undefined) {
    weightDtype = typeof e.weightDtype === 'string' ? parseDtype(e.weightDtype) : null;
    if (!weightDtype)
      issues.add(
        'engine.weightDtype',
        `expected one of ${DTYPE_SPELLINGS.join(', ')}, got ${show(e.weightDtype)}`,
      );
  }

  if (issues.issues.length > before || !model || maxModelLen === undefined || !kvCacheDtype || !weightDtype)
    return null;
  const out: EngineConfig = {
    blockSize: blockSize as number,
    maxNumSeqs: maxNumSeqs as number,
    maxNumBatchedTokens: maxNumBatchedTokens as number,
    maxModelLen,
    gpuMemoryUtilization: gpuMemoryUtilization as number,
    enablePrefixCaching: enablePrefixCaching as boolean,
    asyncScheduling: asyncScheduling as boolean,
    kvCacheDtype,
    weightDtype,
  };
  if (numGpuBlocks !== undefined) out.numGpuBlocks = numGpuBlocks;
  return out;
}

/** vLLM rejects a request whose prompt plus requested output exceeds maxModelLen. */
function checkRequestLengths(w: Workload, maxModelLen: number, issues: IssueCollector): void {
  let over = 0;
  for (let i = 0; i < w.n; i++) {
    const total = w.inputTokens[i] + w.outputTokens[i];
    if (total <= maxModelLen) continue;
    over++;
    if (over <= MAX_LISTED_REQUESTS) {
      const id = w.requestIds ? ` (request_id ${JSON.stringify(w.requestIds[i])})` : '';
      issues.add(
        'workload',
        `request ${i}${id} (index in arrival order) needs ${w.inputTokens[i]} input + ${w.outputTokens[i]} output = ${total} tokens, ` +
          `more than engine.maxModelLen ${maxModelLen}`,
      );
    }
  }
  if (over > MAX_LISTED_REQUESTS)
    issues.add(
      'workload',
      `and ${over - MAX_LISTED_REQUESTS} more requests longer than engine.maxModelLen ${maxModelLen} (${over} of ${w.n} in all)`,
    );
}

/** `fusion`; `readFiles` false: a profile path is not read (a stored profile object is). */
function resolveFusion(
  v: unknown,
  opts: SpecOptions,
  readFiles: boolean,
  issues: IssueCollector,
): FusionConfig | null {
  const f = optSection(v, 'fusion', issues, `{${FUSION_KEYS.join(', ')}}`);
  if (!f) return null;
  const before = issues.issues.length;
  checkKeys(f, FUSION_KEYS, 'fusion', issues);
  const mode = optEnum(f.mode, 'fusion.mode', issues, ['bff', 'cff'] as const, 'bff');
  const threshold = optNum(f.threshold, 'fusion.threshold', issues, { min: -1, max: 1 }, 0.7);
  const scope = optEnum(f.scope, 'fusion.scope', issues, ['global', 'tenant'] as const, 'global');
  const window = optNum(f.window, 'fusion.window', issues, { integer: true, min: 1 }, 4);
  const sharedReads = optBool(f.sharedReads, 'fusion.sharedReads', issues, false);
  let profile: FusionConfig['profile'] = null;
  if (opts.fusionProfile !== undefined && opts.fusionProfile !== null) {
    if (f.profile !== undefined && f.profile !== null)
      issues.add('fusion.profile', 'a stored fusion profile is given: the spec must not name a file too');
    profile = validateFusionProfile(opts.fusionProfile, 'fusion.profile', issues);
  } else if (f.profile !== undefined && f.profile !== null) {
    if (typeof f.profile !== 'string' || f.profile.trim() === '')
      issues.add(
        'fusion.profile',
        `expected a path to a kvplan-fusion-profile/1 JSON file, got ${show(f.profile)}`,
      );
    else if (!readFiles) issues.add('fusion.profile', FILES_NOT_READ);
    else profile = loadFusionProfile(f.profile, opts.baseDir, 'fusion.profile', issues);
  }
  if (profile && mode && profile.mode !== mode)
    issues.add(
      'fusion.profile',
      `the profile was measured for mode ${profile.mode}, but fusion.mode is ${mode}`,
    );
  if (issues.issues.length > before) return null;
  return {
    mode: mode as FusionConfig['mode'],
    threshold: threshold as number,
    scope: scope as FusionConfig['scope'],
    window: window as number,
    sharedReads: sharedReads as boolean,
    profile,
  };
}

function resolveSlo(v: unknown, issues: IssueCollector): SloSpec | null {
  const s = optSection(v, 'slo', issues, '{ttftMs, tpotMs, e2elMs}');
  if (!s) return null;
  const before = issues.issues.length;
  const metrics = ['ttftMs', 'tpotMs', 'e2elMs'] as const;
  checkKeys(s, metrics, 'slo', issues);
  const out: SloSpec = {};
  for (const m of metrics) {
    const t = optSection(s[m], `slo.${m}`, issues, '{p99, p90, p50}');
    if (!t) continue;
    checkKeys(t, ['p99', 'p90', 'p50'], `slo.${m}`, issues);
    const target: NonNullable<SloSpec[typeof m]> = {};
    for (const p of ['p99', 'p90', 'p50'] as const) {
      if (t[p] === undefined) continue;
      const x = num(t[p], `slo.${m}.${p}`, issues, { min: 0, above: true });
      if (x !== undefined) target[p] = x;
    }
    if (Object.keys(t).length === 0)
      issues.add(`slo.${m}`, 'give at least one of p99, p90, p50 (milliseconds)');
    out[m] = target;
  }
  if (Object.keys(s).length === 0) issues.add('slo', 'give at least one of ttftMs, tpotMs, e2elMs');
  return issues.issues.length > before ? null : out;
}

/** `moe`: how routed tokens spread over expert-parallel ranks. */
function resolveMoe(v: unknown, issues: IssueCollector): { loadImbalance: number } | null {
  const m = optSection(v, 'moe', issues, `{${MOE_KEYS.join(', ')}}`);
  if (!m) return null;
  checkKeys(m, MOE_KEYS, 'moe', issues);
  const loadImbalance = optNum(
    m.loadImbalance,
    'moe.loadImbalance',
    issues,
    { min: 1, max: 64 },
    DEFAULT_LOAD_IMBALANCE,
  );
  return loadImbalance === undefined ? null : { loadImbalance };
}

/**
 * Whether the data-parallel ranks of a replica share its MoE layers (vLLM: the experts form one
 * group over tensorParallel x dataParallel GPUs, expert-parallel or tensor-sliced).
 */
export function sharesMoe(model: ModelArch, dataParallel: number, expertParallel: boolean): boolean {
  return model.numExperts > 0 && (dataParallel > 1 || expertParallel);
}

function resolveCost(v: unknown, issues: IssueCollector): { gpuHourUsd: number } | null {
  const c = optSection(v, 'cost', issues, '{gpuHourUsd}');
  if (!c) return null;
  checkKeys(c, ['gpuHourUsd'], 'cost', issues);
  const gpuHourUsd = num(c.gpuHourUsd, 'cost.gpuHourUsd', issues, { min: 0, above: true });
  return gpuHourUsd === undefined ? null : { gpuHourUsd };
}
