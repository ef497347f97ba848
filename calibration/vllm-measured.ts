/**
 * Converts the measured vLLM runs of the reference data (`../shared/data/vllm-measured/`, beside
 * the repository) into calibration cases: deployment, workload and measured per-request latency.
 * Their formats are their own (see that folder's README); nothing of them is copied here.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import {
  DEFAULT_LOAD_IMBALANCE,
  DEFAULT_TIME_MODEL,
  defaultTopology,
  cpuKvBlocks,
  sharesMoe,
  deriveKvCapacity,
  hostLinksFor,
  matchGpuName,
  resolveGpu,
  resolveModel,
  scoredMetricsOf,
  type CalibrationCase,
  type MeasuredMetrics,
  type ResolvedSpec,
  type Workload,
} from '@kvplan/sim';

export const DATA_DIR = path.resolve(__dirname, '..', '..', 'shared', 'data', 'vllm-measured');

interface RawCase {
  id: string;
  model: string;
  gpu: string;
  tp: number;
  dp?: number | null;
  ep?: number | null;
  engine: Record<string, unknown>;
}

/** How each case is used: fitted on, held out, or a stress test reported apart. */
export const SPLIT: Record<string, 'fit' | 'holdout' | 'stress'> = {
  'blis-h100-llama2-7b-tp1-general': 'fit',
  'blis-h100-llama2-7b-tp1-codegen': 'fit',
  'blis-h100-llama2-70b-tp4-general': 'fit',
  'blis-h100-llama2-70b-tp4-codegen': 'fit',
  'lss-rtx4090-llama-3.1-8b': 'fit',
  'lss-rtxpro6000-qwen3-32b': 'fit',
  'blis-h100-llama2-7b-tp1-roleplay': 'holdout',
  'blis-h100-llama2-70b-tp4-roleplay': 'holdout',
  'lss-rtxpro6000-llama-3.1-8b': 'holdout',
  'lss-rtxpro6000-qwen3-30b-a3b-instruct-2507': 'holdout',
  'blis-h100-llama2-7b-tp1-reasoning': 'stress',
  'blis-h100-llama2-70b-tp4-reasoning': 'stress',
};

/** Client-side timing (BLIS, HTTP through inference-perf) adds a front-end delay; engine-side (LSS) none. */
const ENGINE_SIDE_TIMING = (id: string) => id.startsWith('lss-');

function readCsv(file: string): { header: string[]; rows: string[][] } {
  const lines = fs.readFileSync(file, 'utf8').replace(/\r/g, '').trim().split('\n');
  return { header: lines[0].split(','), rows: lines.slice(1).map((l) => l.split(',')) };
}

export function loadVllmMeasuredCases(dir = DATA_DIR): CalibrationCase[] {
  if (!fs.existsSync(path.join(dir, 'cases.jsonl'))) return [];
  const raws = fs
    .readFileSync(path.join(dir, 'cases.jsonl'), 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as RawCase);
  return raws.map((raw) => toCase(raw, dir));
}

function toCase(raw: RawCase, dir: string): CalibrationCase {
  const { header, rows } = readCsv(path.join(dir, 'traces', `${raw.id}.csv`));
  const col = (name: string) => header.indexOf(name);
  const iArr = col('arrival_time_us');
  const iIn = col('input_tokens');
  const iOut = col('output_tokens');
  const iSlot = col('prompt_slot');
  const iOk = col('ok');
  const iTtft = col('ttft_ms');
  const iE2e = col('e2e_ms');

  // BLIS: identical prompts per slot (a timeout row has no prompt length: take its slot's).
  const slotLen = new Map<number, number>();
  if (iSlot >= 0)
    for (const r of rows) {
      const n = Number(r[iIn]);
      if (r[iIn] !== '' && n > 0) slotLen.set(+r[iSlot], Math.min(slotLen.get(+r[iSlot]) ?? Infinity, n));
    }
  const fallbackLen = [...slotLen.values()].sort((a, b) => a - b)[slotLen.size >> 1] ?? 1;

  const order = rows.map((_, i) => i).sort((a, b) => Number(rows[a][iArr]) - Number(rows[b][iArr]));
  const n = rows.length;
  const w: Workload = {
    n,
    arrivalS: new Float64Array(n),
    inputTokens: new Int32Array(n),
    outputTokens: new Int32Array(n),
    prefixGroup: new Int32Array(n).fill(-1),
    prefixTokens: new Int32Array(n),
    tenant: new Int32Array(n).fill(-1),
    tenantNames: [],
    prefixGroupNames: [],
  };
  const mask = new Uint8Array(n);
  const ttft: number[] = [];
  const e2e: number[] = [];
  const tpot: number[] = [];
  const t0 = Number(rows[order[0]][iArr]);
  order.forEach((src, k) => {
    const r = rows[src];
    const slot = iSlot >= 0 ? +r[iSlot] : -1;
    const inTok = r[iIn] !== '' && Number(r[iIn]) > 0 ? Number(r[iIn]) : (slotLen.get(slot) ?? fallbackLen);
    w.arrivalS[k] = (Number(r[iArr]) - t0) / 1e6;
    w.inputTokens[k] = inTok;
    w.outputTokens[k] = Math.max(1, Number(r[iOut]));
    if (slot >= 0) {
      w.prefixGroup[k] = slot;
      w.prefixTokens[k] = Math.min(inTok, slotLen.get(slot) ?? inTok);
    }
    const ok = iOk < 0 || r[iOk] === '1';
    if (ok && r[iTtft] !== '' && r[iE2e] !== '') {
      mask[k] = 1;
      const t = Number(r[iTtft]);
      const e = Number(r[iE2e]);
      ttft.push(t);
      e2e.push(e);
      if (w.outputTokens[k] > 1) tpot.push((e - t) / (w.outputTokens[k] - 1));
    }
  });
  const measured: MeasuredMetrics = scoredMetricsOf(ttft, tpot, e2e);

  const model = resolveModel(raw.model, { baseDir: dir, path: 'model' });
  const gpuId = matchGpuName(raw.gpu);
  if (!gpuId) throw new Error(`${raw.id}: no GPU preset matches "${raw.gpu}"`);
  const gpu = resolveGpu(gpuId, { baseDir: dir, path: 'gpu' });
  const e = raw.engine;
  const num = (v: unknown, d: number) => (typeof v === 'number' ? v : d);
  const engineBase = {
    blockSize: num(e.block_size, 16),
    maxNumSeqs: num(e.max_num_seqs, 128),
    maxNumBatchedTokens: num(e.max_num_batched_tokens, 2048),
    maxModelLen: num(e.max_model_len, model.maxPositionEmbeddings),
    gpuMemoryUtilization: num(e.gpu_memory_utilization, 0.9),
    enablePrefixCaching: e.prefix_caching !== false,
    // vLLM 0.14+ schedules asynchronously unless told not to (0.15.1 and 0.19.0 here).
    asyncScheduling: e.async_scheduling !== false,
    kvCacheDtype: 'auto' as const,
    weightDtype: model.dtype,
  };
  const tp = raw.tp ?? 1;
  // Data-parallel ranks are engines of one deployment; with a MoE model they share its MoE
  // layers (expert-parallel when the run enabled it), so its experts are spread over tp x dp.
  const dp = raw.dp ?? 1;
  const expertParallel = e.enable_expert_parallel === true;
  const expertShards = sharesMoe(model, dp, expertParallel) ? tp * dp : tp;
  const numGpuBlocks =
    typeof e.num_gpu_blocks === 'number'
      ? e.num_gpu_blocks
      : deriveKvCapacity({ model, gpu, engine: engineBase, tensorParallel: tp, expertShards }).numGpuBlocks;
  // vLLM's CPU KV offload where the run had it ("OffloadingConnector, 8 GiB CPU, ...").
  const offloadGiB = /(\d+(?:\.\d+)?)\s*GiB CPU/.exec(String(e.cpu_kv_offload ?? ''));
  const kvOffload = offloadGiB
    ? {
        cpuGiB: Number(offloadGiB[1]),
        hostMemoryGiB: hostLinksFor(gpu).hostMemoryGiB,
        numCpuBlocks: cpuKvBlocks(model, engineBase, tp, Number(offloadGiB[1])).numCpuBlocks,
      }
    : null;
  const spec: ResolvedSpec = {
    model,
    gpu,
    topology: defaultTopology(gpu),
    tensorParallel: tp,
    kvOffload,
    dataParallel: dp,
    expertParallel,
    moe: { loadImbalance: DEFAULT_LOAD_IMBALANCE },
    replicas: 1,
    router: 'least-loaded',
    engine: { ...engineBase, numGpuBlocks },
    workload: w,
    fusion: null,
    slo: null,
    cost: null,
    seed: 1,
    timeModel: DEFAULT_TIME_MODEL,
    timeseriesResolutionS: null,
  };
  return {
    id: raw.id,
    spec,
    measured,
    scoreMask: mask,
    frontendOverheadS: ENGINE_SIDE_TIMING(raw.id) ? 0 : undefined,
  };
}
