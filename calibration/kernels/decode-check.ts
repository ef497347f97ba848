/**
 * Sanity check of decode step times against the kernel measurements themselves: for 7B/8B/13B
 * Llama-class models on A100-80GB and L40S (and H100 for reference), one decode step of `batch`
 * sequences with `kv` tokens cached each, as the sum of the measured kernels (the model's four
 * GEMMs per layer and its LM head from gemm.csv, decode attention from generation_attention.csv,
 * two all-reduces per layer from allreduce.csv under TP), against the simulator's step-time model
 * with serving's efficiencies set to 1 and no engine-side costs ("kernels"), and with the default
 * calibration ("serving", what a projection uses).
 *
 * Shapes the measurements lack are read off their neighbours: a GEMM between two measured widths
 * (same inner size, or same width and inner sizes around it) linearly in the size; multi-head
 * decode attention with more KV heads per GPU than measured (8) as the 8-KV-head kernel at a
 * batch as many times larger (the same (sequence, head) work items of the same size).
 *
 *   npm run check:decode     (writes bench/results/decode-check.json)
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import {
  DEFAULT_TIME_MODEL,
  StepTimeModel,
  emptyStepWork,
  findGpuPreset,
  resolveModel,
  type ModelArch,
} from '@kvplan/sim';
import { KERNEL_DATA_DIR, ROOT, loadKernelRows } from './data';

type Rows = Array<Record<string, number>>;

const GPUS = [
  { data: 'a100_sxm', preset: 'a100-80gb' },
  { data: 'l40s', preset: 'l40s' },
  { data: 'h100_sxm', preset: 'h100-sxm' },
];
const MODELS = [
  { id: 'meta-llama/Llama-2-7b-hf', tp: [1] },
  { id: 'meta-llama/Llama-3.1-8B', tp: [1] },
  { id: 'meta-llama/Llama-2-13b-hf', tp: [1, 2] },
];
const BATCHES = [1, 2, 4, 8, 16, 32, 64, 128, 256];
const KV = [1024, 4096];

/** Measured latency (us) of an m x k by k x n BF16 GEMM, read off neighbouring shapes where not measured. */
function gemmUs(rows: Rows, m: number, n: number, k: number): number {
  const atM = rows.filter((r) => r.m === m);
  const exact = atM.find((r) => r.n === n && r.k === k);
  if (exact) return exact.latency_us;
  const between = (list: Rows, key: 'n' | 'k', v: number): number | null => {
    const lo = list.filter((r) => r[key] <= v).sort((a, b) => b[key] - a[key])[0];
    const hi = list.filter((r) => r[key] >= v).sort((a, b) => a[key] - b[key])[0];
    if (!lo || !hi) return null;
    if (lo[key] === hi[key]) return lo.latency_us;
    return lo.latency_us + ((v - lo[key]) / (hi[key] - lo[key])) * (hi.latency_us - lo.latency_us);
  };
  const byN = between(
    atM.filter((r) => r.k === k),
    'n',
    n,
  );
  if (byN !== null) return byN;
  const byK = between(
    atM.filter((r) => r.n === n),
    'k',
    k,
  );
  if (byK !== null) return byK;
  // Nearest measured size, scaled by the weight size (memory-bound at decode batches).
  const near = atM.sort(
    (a, b) => Math.abs(Math.log((a.n * a.k) / (n * k))) - Math.abs(Math.log((b.n * b.k) / (n * k))),
  )[0];
  return (near.latency_us * n * k) / (near.n * near.k);
}

/** Measured decode attention (us): `b` sequences, `kv` cached tokens, `h` heads and `kvh` KV heads per GPU. */
function attnUs(rows: Rows, b: number, kv: number, h: number, kvh: number): number {
  const find = (bb: number, hh: number, kk: number) =>
    rows.find((r) => r.batch === bb && r.kv_len === kv && r.num_heads === hh && r.num_kv_heads === kk);
  const exact = find(b, h, kvh);
  if (exact) return exact.latency_us;
  if (h === kvh && kvh > 8) {
    // The 8-KV-head multi-head kernel at a batch kvh / 8 times larger, linear between measured batches.
    const B = (b * kvh) / 8;
    const lo = 2 ** Math.floor(Math.log2(B));
    const a = find(lo, 8, 8);
    if (lo === B) return a ? a.latency_us : NaN;
    const c = find(2 * lo, 8, 8);
    if (a && c) return a.latency_us + ((B - lo) / lo) * (c.latency_us - a.latency_us);
  }
  return NaN;
}

/** Measured all-reduce (us) of `bytes` over `n` GPUs, linear between measured sizes. */
function allReduceUs(rows: Rows, n: number, bytes: number): number {
  const list = rows.filter((r) => r.num_gpus === n).sort((a, b) => a.message_bytes - b.message_bytes);
  const hi = list.find((r) => r.message_bytes >= bytes) ?? list[list.length - 1];
  const lo = [...list].reverse().find((r) => r.message_bytes <= bytes) ?? list[0];
  if (hi.message_bytes === lo.message_bytes) return lo.latency_us;
  return (
    lo.latency_us +
    ((bytes - lo.message_bytes) / (hi.message_bytes - lo.message_bytes)) * (hi.latency_us - lo.latency_us)
  );
}

/** One decode step from the measured kernels, in ms, by part. */
function measuredStep(
  rows: ReturnType<typeof loadKernelRows>,
  m: ModelArch,
  tp: number,
  b: number,
  kv: number,
) {
  const h = m.hiddenSize;
  const d = m.headDim;
  const heads = m.numHeads / tp;
  const kvHeads = Math.max(1, m.numKvHeads / tp);
  const g = rows.gemm;
  const perLayer =
    gemmUs(g, b, ((m.numHeads + 2 * m.numKvHeads) * d) / tp, h) +
    gemmUs(g, b, h, (m.numHeads * d) / tp) +
    gemmUs(g, b, (2 * m.intermediateSize) / tp, h) +
    gemmUs(g, b, h, m.intermediateSize / tp);
  const gemm = (m.numLayers * perLayer + gemmUs(g, b, m.vocabSize / tp, h)) / 1e3;
  const attention = (m.numLayers * attnUs(rows.generationAttention, b, kv, heads, kvHeads)) / 1e3;
  const allReduce = tp > 1 ? (2 * m.numLayers * allReduceUs(rows.allReduce, tp, b * h * 2)) / 1e3 : 0;
  return { gemm, attention, allReduce, total: gemm + attention + allReduce };
}

function stepModel(model: ModelArch, gpuId: string, tp: number, kernelsOnly: boolean): StepTimeModel {
  const c = kernelsOnly
    ? {
        ...DEFAULT_TIME_MODEL,
        memEfficiency: 1,
        computeEfficiency: 1,
        attentionEfficiency: 1,
        stepOverheadS: 0,
        layerOverheadS: 0,
        requestOverheadS: 0,
        prefillChunkOverheadS: 0,
        sampleOverheadS: 0,
        tokenOverheadS: 0,
        allReduceLatencyS: 0,
      }
    : DEFAULT_TIME_MODEL;
  return new StepTimeModel(model, findGpuPreset(gpuId)!, {
    tensorParallel: tp,
    weightDtype: 'bfloat16',
    kvCacheDtype: 'auto',
    coefficients: c,
  });
}

function simStep(
  model: ModelArch,
  gpuId: string,
  tp: number,
  b: number,
  kv: number,
  kernelsOnly: boolean,
): number {
  const stm = stepModel(model, gpuId, tp, kernelsOnly);
  // b decodes, each with kv tokens cached before the step (kvReadTokens counts the cache before it).
  return (
    stm.stepTime({
      ...emptyStepWork(),
      numReqs: b,
      newTokens: b,
      numSampled: b,
      attnPairs: b * (kv + 1),
      kvReadTokens: b * (kv - 1),
    }) * 1e3
  );
}

const out: Array<Record<string, unknown>> = [];
const pct = (v: number) => `${v >= 0 ? '+' : ''}${(v * 100).toFixed(0)}%`;
console.log(
  '| GPU | model | TP | kv | batch | measured kernels ms (gemm/attn/ar) | sim kernels ms | diff | sim serving ms |',
);
console.log('| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |');
for (const gpu of GPUS) {
  const rows = loadKernelRows(path.join(KERNEL_DATA_DIR, gpu.data));
  for (const mm of MODELS) {
    const model = resolveModel(mm.id, { baseDir: '.', path: 'model' });
    for (const tp of mm.tp)
      for (const kv of KV)
        for (const b of BATCHES) {
          const meas = measuredStep(rows, model, tp, b, kv);
          if (!Number.isFinite(meas.total)) continue;
          const kern = simStep(model, gpu.preset, tp, b, kv, true);
          const serving = simStep(model, gpu.preset, tp, b, kv, false);
          out.push({
            gpu: gpu.preset,
            model: mm.id,
            tp,
            kv,
            batch: b,
            measured: meas,
            simKernels: kern,
            simServing: serving,
          });
          console.log(
            `| ${gpu.preset} | ${mm.id.split('/')[1]} | ${tp} | ${kv} | ${b} | ${meas.total.toFixed(2)} (${meas.gemm.toFixed(2)}/${meas.attention.toFixed(2)}/${meas.allReduce.toFixed(2)}) | ${kern.toFixed(2)} | ${pct(kern / meas.total - 1)} | ${serving.toFixed(2)} |`,
          );
        }
  }
}
/**
 * A public end-to-end reference: NVIDIA's NeMo Framework performance page
 * (https://docs.nvidia.com/nemo-framework/user-guide/latest/performance/llama.html, Llama-2
 * inference, TensorRT-LLM, not vLLM): average latency of a batch of requests with 128 input and
 * 20 output tokens, Llama-2-7B on one GPU, A100 80GB SXM4 and H100 80GB HBM3.
 */
const NEMO_MS: Record<string, Record<number, number>> = {
  'a100-80gb': { 1: 234.0, 2: 249.6, 4: 272.6, 8: 329.5 },
  'h100-sxm': { 1: 153.8, 2: 160.8, 4: 174.8, 8: 199.2 },
};

/** One batch of `b` requests of `input` prompt and `output` generated tokens: one prefill step and output - 1 decode steps. */
function requestMs(stm: StepTimeModel, b: number, input: number, output: number): number {
  let t = stm.stepTime({
    ...emptyStepWork(),
    numReqs: b,
    newTokens: b * input,
    numSampled: b,
    attnPairs: (b * input * (input + 1)) / 2,
    kvReadTokens: b * input,
    prefillReqs: b,
    prefillTokens: b * input,
    prefillPairs: (b * input * (input + 1)) / 2,
  });
  for (let i = 1; i < output; i++)
    t += stm.stepTime({
      ...emptyStepWork(),
      numReqs: b,
      newTokens: b,
      numSampled: b,
      attnPairs: b * (input + i + 1),
      kvReadTokens: b * (input + i - 1),
    });
  return t * 1e3;
}

const llama2 = resolveModel('meta-llama/Llama-2-7b-hf', { baseDir: '.', path: 'model' });
const reference: Array<Record<string, unknown>> = [];
console.log('\nLlama-2-7B, 128 in / 20 out, one GPU: simulated batch latency against NeMo (TensorRT-LLM)\n');
console.log(
  '| batch | A100 sim (kernels) | A100 NeMo | H100 sim (kernels) | H100 NeMo | A100/H100 sim | A100/H100 NeMo |',
);
console.log('| ---: | ---: | ---: | ---: | ---: | ---: | ---: |');
for (const b of [1, 2, 4, 8]) {
  const sim = (gpu: string, kernelsOnly: boolean) =>
    requestMs(stepModel(llama2, gpu, 1, kernelsOnly), b, 128, 20);
  const row = {
    batch: b,
    a100: {
      serving: sim('a100-80gb', false),
      kernels: sim('a100-80gb', true),
      nemo: NEMO_MS['a100-80gb'][b],
    },
    h100: { serving: sim('h100-sxm', false), kernels: sim('h100-sxm', true), nemo: NEMO_MS['h100-sxm'][b] },
  };
  reference.push(row);
  console.log(
    `| ${b} | ${row.a100.serving.toFixed(0)} (${row.a100.kernels.toFixed(0)}) | ${row.a100.nemo} | ${row.h100.serving.toFixed(0)} (${row.h100.kernels.toFixed(0)}) | ${row.h100.nemo} | ${(row.a100.serving / row.h100.serving).toFixed(2)} | ${(row.a100.nemo / row.h100.nemo).toFixed(2)} |`,
  );
}

fs.mkdirSync(path.join(ROOT, 'bench/results'), { recursive: true });
fs.writeFileSync(
  path.join(ROOT, 'bench/results/decode-check.json'),
  JSON.stringify(
    {
      what: 'one decode step (ms): the sum of the measured kernels (AIConfigurator, see libs/sim/data/kernels/SOURCE.md) against the step-time model on its kernel curves alone and with the default serving calibration',
      steps: out,
      nemoLlama2_7b: reference,
    },
    null,
    2,
  ) + '\n',
);
