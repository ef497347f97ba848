/**
 * npm run bench:fusion — KV fusion speed. Prints tables and writes bench/results/fusion.json.
 *  - Whole process, same file, same run: `kvplan fuse` (dense and sketch; BFF at 0.7, no
 *    attention probe: the same work as the yardstick) against bench/bff_numpy.py, the dense BFF
 *    in numpy on the machine's BLAS (skipped, saying why, where python3 with numpy is absent),
 *    on a float16 kvplan-kv/1 file of 32 sequences x 32 blocks x 8 layers (4 fused), 16 tokens x
 *    8 KV heads x 128 (Llama-3.1-8B shaped); best of --reps runs each; surviving blocks compared.
 *  - A batch of 64 sequences x 32 blocks x 32 layers shaped like Llama-3.1-8B (8 KV heads,
 *    head dim 128, 16-token blocks: 16,384-dim block vectors), from the synthetic generator with
 *    its default structure and seed 1, generated and fused one layer at a time (the whole sample
 *    is 8 GiB in float32).
 *  - Per layer: generation time; BFF at threshold 0.7 with the dense search (time, blocks/s,
 *    FLOP/s of the similarity matmuls) and with the sketch search (time, speed-up, candidates,
 *    compression difference); every `--recall-every`-th fused layer also measures the sketch's
 *    recall of above-threshold pairs against the exact search on the same survivors.
 *  - The backend's own matmul rate on operands it has not seen (and, for reference, with its packed
 *    weights cached and with uploads), measured in the same run (before and after) on the shape of
 *    the largest merge: [1024 x 16384] x [16384 x 1024].
 *  - Where the sketch stops paying: one layer at batch sizes 4..64 and thresholds 0.5..0.9.
 *  - Each fused layer's sketch search also on the tfjs kernel (--before 0: not), for a same-run
 *    ratio on this shared, loaded machine.
 * Options: --layers N (first N layers), --seqs S, --recall-every K, --threshold T, --reps R
 * (whole-process runs), --before 0|1.
 */
import { planThreads } from '@kvplan/core';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import {
  fuseLayer,
  matmulAB,
  resolveFusionOptions,
  selectSimilarityKernel,
  selectTfBackend,
  synthesizeKvSample,
  tfjsKernel,
  writeKvSample,
  type SimilarityKernel,
  type KvLayer,
  type KvSampleInfo,
  type LayerFusionResult,
} from '@kvplan/fusion';

const root = path.resolve(__dirname, '..');
const arg = (name: string, dflt: number): number => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : dflt;
};
const NUM_LAYERS = arg('layers', 32);
const NUM_SEQS = arg('seqs', 64);
const RECALL_EVERY = arg('recall-every', 4);
const THRESHOLD = arg('threshold', 0.7);
const REPS = arg('reps', 2);
/** Also run each layer's sketch search on the tfjs kernel (the configuration before the seam). */
const BEFORE = arg('before', 1) === 1;
const clock = (): number => performance.now();
let kernel: SimilarityKernel;
/** The 64 x 32 x 32-layer sketch total before the kernel seam (tfjs on wasm, this bench's earlier result). */
const BASELINE_SKETCH_S = 28.72;

interface ProcessRun {
  name: string;
  command: string;
  /** Best wall seconds of the runs; null when skipped. */
  seconds: number | null;
  runs: number[];
  surviving: number[] | null;
  skipped: string | null;
}

/** Wall time of one child process; its stdout parsed as JSON, or the failure. */
function timeProcess(cmd: string, args: string[], env: NodeJS.ProcessEnv = {}): { s: number; out: unknown } {
  const t0 = clock();
  const r = spawnSync(cmd, args, {
    env: { ...process.env, ...env },
    encoding: 'utf8',
    maxBuffer: 64 * 2 ** 20,
  });
  const s = (clock() - t0) / 1000;
  if (r.status !== 0)
    throw new Error(`${cmd} ${args.join(' ')} failed (${r.status}): ${r.stderr.slice(-500)}`);
  return { s, out: JSON.parse(r.stdout) };
}

/** numpy's version, or why the yardstick cannot run here. */
function numpyMissing(): string | null {
  const r = spawnSync('python3', ['-c', 'import numpy; print(numpy.__version__)'], { encoding: 'utf8' });
  if (r.error) return `python3 is not installed (${r.error.message})`;
  if (r.status !== 0) return 'python3 has no numpy (Debian: apt-get install python3-numpy)';
  return null;
}

/**
 * The whole-process comparison: the same float16 file, kvplan fuse (each search, the tfjs kernel
 * for reference) and the numpy dense BFF, runs interleaved so load changes hit all alike.
 */
function wholeProcess(): { file: Record<string, number | string>; rows: ProcessRun[]; ratio: number | null } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kvplan-bench-'));
  const file = path.join(dir, 'llama8b-32x32x8-f16.safetensors');
  const shape = { numSeqs: 32, blocksPerSeq: 32, numLayers: 8, blockSize: 16, numKvHeads: 8, headDim: 128 };
  try {
    writeKvSample(file, synthesizeKvSample({ ...shape, model: 'meta-llama/Llama-3.1-8B', seed: 1 }), {
      dtype: 'F16',
    });
    const kvplan = path.join(root, 'cli', 'bin', 'kvplan.js');
    const fuse = (search: string) => [
      'fuse',
      file,
      '--json',
      '--no-attention',
      '--search',
      search,
      '--threshold',
      String(THRESHOLD),
    ];
    type Spec = {
      name: string;
      cmd: string;
      args: string[];
      env?: NodeJS.ProcessEnv;
      parse: (o: unknown) => number[];
    };
    const fromFuse = (o: unknown): number[] =>
      (
        o as { thresholds: Array<{ layers: Array<{ fused: boolean; survivingBlocks: number }> }> }
      ).thresholds[0].layers
        .filter((l) => l.fused)
        .map((l) => l.survivingBlocks);
    const missing = numpyMissing();
    const specs: Spec[] = [
      {
        name: 'numpy/OpenBLAS dense BFF (float32)',
        cmd: 'python3',
        args: [path.join(root, 'bench', 'bff_numpy.py'), file, String(THRESHOLD)],
        parse: (o) =>
          (o as { layers: Array<{ survivingBlocks: number }> }).layers.map((l) => l.survivingBlocks),
      },
      {
        name: 'kvplan fuse --search dense',
        cmd: process.execPath,
        args: [kvplan, ...fuse('dense')],
        parse: fromFuse,
      },
      {
        name: 'kvplan fuse --search sketch',
        cmd: process.execPath,
        args: [kvplan, ...fuse('sketch')],
        parse: fromFuse,
      },
      {
        name: 'kvplan fuse --search dense, tfjs kernel',
        cmd: process.execPath,
        args: [kvplan, ...fuse('dense')],
        env: { KVPLAN_SIMILARITY_KERNEL: 'tfjs' },
        parse: fromFuse,
      },
    ];
    const rows: ProcessRun[] = specs.map((p) => ({
      name: p.name,
      command:
        [
          p.cmd === process.execPath ? 'node' : p.cmd,
          ...p.args.map((a) => a.replace(dir, '$TMP').replace(root + path.sep, '')),
        ].join(' ') +
        (p.env
          ? ` (${Object.entries(p.env)
              .map(([k, v]) => `${k}=${v}`)
              .join(' ')})`
          : ''),
      seconds: null,
      runs: [],
      surviving: null,
      skipped: p.cmd === 'python3' ? missing : null,
    }));
    for (let rep = 0; rep < REPS; rep++)
      specs.forEach((p, i) => {
        if (rows[i].skipped) return;
        const { s, out } = timeProcess(p.cmd, p.args, p.env);
        rows[i].runs.push(s);
        rows[i].seconds = Math.min(rows[i].seconds ?? Infinity, s);
        rows[i].surviving = p.parse(out);
        process.stderr.write(`${p.name}: ${s.toFixed(2)} s, surviving ${rows[i].surviving!.join(',')}\n`);
      });
    const best = Math.min(rows[1].seconds!, rows[2].seconds!);
    const ratio = rows[0].seconds === null ? null : best / rows[0].seconds;
    return {
      file: { ...shape, dtype: 'F16', fusedLayers: 4, threshold: THRESHOLD, bytes: fs.statSync(file).size },
      rows,
      ratio,
    };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * The backend's matmul rate on the shape of the largest merge, [1024 x 16384] x [16384 x 1024],
 * best of 3, three ways: on operands it has not seen (uploaded before the clock starts): the rate
 * any one similarity matmul can reach, and the reference for the dense search; on the same
 * operands again (the wasm backend keeps the packed weights of a tensor it has multiplied, which
 * no merge can use: each has new operands); and with the uploads, as matmulAB does it.
 */
function matmulRate(): { backendGflops: number; cachedWeightsGflops: number; withUploadGflops: number } {
  const m = 1024;
  const D = 16384;
  const a = new Float32Array(m * D);
  const b = new Float32Array(D * m);
  for (let i = 0; i < a.length; i++) {
    a[i] = Math.sin(i);
    b[i] = Math.cos(i);
  }
  const flops = 2 * m * m * D;
  const product = (A: tf.Tensor2D, B: tf.Tensor2D): number => {
    const t0 = clock();
    const o = tf.matMul(A, B);
    o.dataSync();
    o.dispose();
    return clock() - t0;
  };
  let fresh = Infinity;
  let cached = Infinity;
  let withUpload = Infinity;
  for (let r = 0; r < 3; r++) {
    const A = tf.tensor2d(a, [m, D]);
    const B = tf.tensor2d(b, [D, m]);
    try {
      fresh = Math.min(fresh, product(A, B));
      cached = Math.min(cached, product(A, B));
    } finally {
      A.dispose();
      B.dispose();
    }
    const t1 = clock();
    matmulAB(a, m, b, m, D);
    withUpload = Math.min(withUpload, clock() - t1);
  }
  const gflops = (ms: number): number => flops / (ms / 1000) / 1e9;
  return {
    backendGflops: gflops(fresh),
    cachedWeightsGflops: gflops(cached),
    withUploadGflops: gflops(withUpload),
  };
}

/** The first `n` sequences of a layer, as a sample of their own. */
function subset(layer: KvLayer, info: KvSampleInfo, n: number): { layer: KvLayer; info: KvSampleInfo } {
  const per = info.maxBlocks * info.blockSize * info.numKvHeads * info.headDim;
  return {
    layer: {
      layer: layer.layer,
      key: layer.key.subarray(0, n * per),
      value: layer.value.subarray(0, n * per),
      query: null,
    },
    info: {
      ...info,
      numSeqs: n,
      seqLens: info.seqLens.slice(0, n),
      positions: info.positions?.slice(0, n) ?? null,
    },
  };
}

function run(
  layer: KvLayer,
  info: KvSampleInfo,
  search: 'dense' | 'sketch',
  thresholds: number[],
  measureRecall = false,
  k: SimilarityKernel = kernel,
): LayerFusionResult {
  // sketchMinItems 0: the sketch runs even where it is dropped by default (the crossover table).
  const o = resolveFusionOptions(
    { thresholds, search, measureRecall, attention: false, clock, kernel: k, sketchMinItems: 0 },
    info,
  );
  return fuseLayer(layer, info, o);
}

const f3 = (x: number): string => x.toFixed(3);
const f1 = (x: number): string => x.toFixed(1);

async function main(): Promise<void> {
  const backend = await selectTfBackend({
    wanted: process.env.KVPLAN_TF_BACKEND,
    log: (l) => process.stderr.write(`${l}\n`),
  });
  const whole = wholeProcess();
  const selected = await selectSimilarityKernel({
    wanted: process.env.KVPLAN_SIMILARITY_KERNEL,
    threads: planThreads(os.availableParallelism(), 1).kernelThreads,
  });
  process.stderr.write(`${selected.line}\n`);
  kernel = selected.kernel;
  const rateBefore = matmulRate();
  process.stderr.write(
    `backend matmul ${f1(rateBefore.backendGflops)} GFLOP/s on new operands (${f1(rateBefore.cachedWeightsGflops)} with its packed weights cached, ${f1(rateBefore.withUploadGflops)} with uploads)\n`,
  );
  const sample = synthesizeKvSample({
    numSeqs: NUM_SEQS,
    blocksPerSeq: 32,
    numLayers: 32,
    blockSize: 16,
    numKvHeads: 8,
    headDim: 128,
    model: 'meta-llama/Llama-3.1-8B',
    seed: 1,
  });
  const info = sample.info;
  const fused = resolveFusionOptions({}, info).fused;
  const rows: Array<Record<string, number | string | boolean | null>> = [];
  let fusedCount = 0;
  for (let l = 0; l < Math.min(NUM_LAYERS, info.numLayers); l++) {
    const tg = clock();
    const layer = sample.readLayer(l);
    const genS = (clock() - tg) / 1000;
    const row: Record<string, number | string | boolean | null> = {
      layer: l,
      fused: fused.includes(l),
      generateS: genS,
    };
    if (fused.includes(l)) {
      const dense = run(layer, info, 'dense', [THRESHOLD]);
      const recall = RECALL_EVERY > 0 && fusedCount % RECALL_EVERY === 0;
      fusedCount++;
      const sketch = run(layer, info, 'sketch', [THRESHOLD], recall);
      // The same sketch search on the tfjs kernel (as before the kernel seam), in the same run.
      const before = BEFORE ? run(layer, info, 'sketch', [THRESHOLD], false, tfjsKernel) : null;
      const d = dense.thresholds[0];
      const s = sketch.thresholds[0];
      // With recall measured, the sketch run also did dense work: time its own search only.
      const sketchS = recall ? sketch.seconds! - (sketch.search.denseSeconds ?? 0) : sketch.seconds!;
      Object.assign(row, {
        blocks: d.totalBlocks,
        denseS: dense.seconds,
        denseBlocksPerS: d.totalBlocks / dense.seconds!,
        denseMatmulS: dense.search.denseSeconds,
        denseGflop: dense.search.denseFlops / 1e9,
        denseGflops: dense.search.denseFlops / 1e9 / dense.search.denseSeconds!,
        denseSurviving: d.survivingBlocks,
        sketchS,
        sketchBlocksPerS: d.totalBlocks / sketchS,
        sketchSearchS: sketch.search.sketchSeconds,
        speedup: dense.seconds! / sketchS,
        searchSpeedup: dense.search.denseSeconds! / sketch.search.sketchSeconds!,
        sketchSurviving: s.survivingBlocks,
        sketchTfjsS: before ? before.seconds : null,
        sketchTfjsSurviving: before ? before.thresholds[0].survivingBlocks : null,
        compressionDiff:
          Math.abs(d.totalBlocks / s.survivingBlocks - d.totalBlocks / d.survivingBlocks) /
          (d.totalBlocks / d.survivingBlocks),
        candidates: s.search.candidates,
        recall: s.search.pairsTrue ? s.search.pairsTrueFound! / s.search.pairsTrue : null,
        pairsTrue: s.search.pairsTrue,
      });
    }
    rows.push(row);
    process.stderr.write(`${JSON.stringify(row)}\n`);
  }
  const rateAfter = matmulRate();

  // Where the sketch stops paying: batch size and threshold, on one mid layer.
  const probeLayer = sample.readLayer(Math.min(16, info.numLayers - 3));
  const crossover: Array<Record<string, number>> = [];
  for (const B of [4, 8, 16, 32, 64].filter((b) => b <= NUM_SEQS)) {
    const sub = subset(probeLayer, info, B);
    const dense = run(sub.layer, sub.info, 'dense', [THRESHOLD]);
    const sketch = run(sub.layer, sub.info, 'sketch', [THRESHOLD]);
    crossover.push({
      seqs: B,
      threshold: THRESHOLD,
      blocks: B * 32,
      denseS: dense.seconds!,
      sketchS: sketch.seconds!,
      speedup: dense.seconds! / sketch.seconds!,
    });
    process.stderr.write(`${JSON.stringify(crossover[crossover.length - 1])}\n`);
  }
  const denseRef = crossover.find((c) => c.seqs === NUM_SEQS)?.denseS ?? null;
  const byThreshold: Array<Record<string, number | null>> = [];
  for (const t of [0.5, 0.6, 0.7, 0.8, 0.9]) {
    const sketch = run(probeLayer, info, 'sketch', [t], true);
    const s = sketch.thresholds[0];
    const own = sketch.seconds! - (sketch.search.denseSeconds ?? 0);
    byThreshold.push({
      threshold: t,
      sketchS: own,
      candidates: s.search.candidates,
      pairsFound: s.search.pairsFound,
      recall: s.search.pairsTrue ? s.search.pairsTrueFound! / s.search.pairsTrue : null,
      surviving: s.survivingBlocks,
      speedupVsDense07: denseRef ? denseRef / own : null,
    });
    process.stderr.write(`${JSON.stringify(byThreshold[byThreshold.length - 1])}\n`);
  }

  const fr = rows.filter((r) => r.fused);
  const sum = (k: string): number => fr.reduce((a, r) => a + (r[k] as number), 0);
  const recalls = fr.filter((r) => r.recall !== null);
  const totals = {
    fusedLayers: fr.length,
    denseS: sum('denseS'),
    sketchS: sum('sketchS'),
    sketchSpeedupVsBaseline: BASELINE_SKETCH_S / sum('sketchS'),
    sketchTfjsS: BEFORE ? sum('sketchTfjsS') : null,
    sketchSpeedupSameRun: BEFORE ? sum('sketchTfjsS') / sum('sketchS') : null,
    sketchTfjsCountsEqual: BEFORE ? fr.every((r) => r.sketchTfjsSurviving === r.sketchSurviving) : null,
    generateS: rows.reduce((a, r) => a + (r.generateS as number), 0),
    denseBlocksPerS: sum('blocks') / sum('denseS'),
    sketchBlocksPerS: sum('blocks') / sum('sketchS'),
    denseGflops: sum('denseGflop') / sum('denseMatmulS'),
    speedup: sum('denseS') / sum('sketchS'),
    denseSearchS: sum('denseMatmulS'),
    sketchSearchS: sum('sketchSearchS'),
    searchSpeedup: sum('denseMatmulS') / sum('sketchSearchS'),
    recallMin: recalls.length ? Math.min(...recalls.map((r) => r.recall as number)) : null,
    recallPairs: recalls.reduce((a, r) => a + (r.pairsTrue as number), 0),
    compressionDense: sum('blocks') / sum('denseSurviving'),
    compressionSketch: sum('blocks') / sum('sketchSurviving'),
    compressionDiffMax: fr.length ? Math.max(...fr.map((r) => r.compressionDiff as number)) : null,
  };
  const backendRate = (rateBefore.backendGflops + rateAfter.backendGflops) / 2;
  const cachedRate = (rateBefore.cachedWeightsGflops + rateAfter.cachedWeightsGflops) / 2;
  const result = {
    benchmark: 'fusion',
    machine: {
      cpus: os.cpus().length,
      cpuModel: os.cpus()[0]?.model ?? 'unknown',
      loadAvg: os.loadavg(),
      node: process.version,
      tfBackend: backend.backend,
      similarityKernel: kernel.name,
    },
    wholeProcess: {
      ...whole,
      note: 'wall seconds of the whole process, best of the runs; ratio: best kvplan search / numpy',
    },
    baselineSketchS: BASELINE_SKETCH_S,
    config: {
      numSeqs: NUM_SEQS,
      blocksPerSeq: 32,
      numLayers: Math.min(NUM_LAYERS, 32),
      blockSize: 16,
      numKvHeads: 8,
      headDim: 128,
      blockDim: 16384,
      threshold: THRESHOLD,
      mode: 'bff',
      merge: 'mean',
      sketchDim: resolveFusionOptions({}, info).sketchDim,
      seed: 1,
      synthetic: 'default structure',
      notes:
        'dense s / sketch s: whole fuseLayer (items, merge, distortion; attention probe off); search speed-up: similarity matmuls (dense) vs sketching, sketch matmuls and exact checks (sketch)',
    },
    matmul: {
      before: rateBefore,
      after: rateAfter,
      backendGflops: backendRate,
      cachedWeightsGflops: cachedRate,
    },
    totals: {
      ...totals,
      denseFractionOfMatmulRate: totals.denseGflops / backendRate,
      denseFractionOfCachedWeightsRate: totals.denseGflops / cachedRate,
    },
    layers: rows,
    crossover: { byBatchSize: crossover, byThreshold },
  };
  fs.mkdirSync(path.join(root, 'bench', 'results'), { recursive: true });
  fs.writeFileSync(
    path.join(root, 'bench', 'results', 'fusion.json'),
    JSON.stringify(result, null, 2) + '\n',
  );

  const wp = whole.rows;
  const lines = [
    `Whole process, same file (32 seqs x 32 blocks x 8 layers, 4 fused, float16, Llama-3.1-8B shaped), BFF at ${THRESHOLD}, best of ${REPS}; load ${os
      .loadavg()
      .map((x) => x.toFixed(1))
      .join(' ')}`,
    '| run | s | surviving blocks per fused layer |',
    '|---|---:|---|',
    ...wp.map(
      (r) =>
        `| ${r.name} | ${r.seconds === null ? `skipped: ${r.skipped}` : f3(r.seconds)} | ${r.surviving?.join(', ') ?? '-'} |`,
    ),
    `best kvplan / numpy: ${whole.ratio === null ? '- (numpy row skipped)' : f3(whole.ratio)}`,
    '',
    `KV fusion, BFF at threshold ${THRESHOLD}: ${NUM_SEQS} seqs x 32 blocks x ${result.config.numLayers} layers, Llama-3.1-8B shape (16,384-dim blocks), synthetic seed 1`,
    `machine: ${result.machine.cpus} x ${result.machine.cpuModel}, tfjs ${backend.backend}; backend matmul ${f1(rateBefore.backendGflops)} / ${f1(rateAfter.backendGflops)} GFLOP/s (before / after)`,
    '',
    '| layer | blocks | dense s | dense blocks/s | dense GFLOP/s | sketch s | speed-up | search speed-up | recall | compression dense / sketch |',
    '|---|---|---|---|---|---|---|---|---|---|',
    ...fr.map(
      (r) =>
        `| ${r.layer} | ${r.blocks} | ${f3(r.denseS as number)} | ${f1(r.denseBlocksPerS as number)} | ${f1(r.denseGflops as number)} | ${f3(r.sketchS as number)} | ${f1(r.speedup as number)}x | ${f1(r.searchSpeedup as number)}x | ${r.recall === null ? '-' : ((r.recall as number) * 100).toFixed(2) + ' %'} | ${f3((r.blocks as number) / (r.denseSurviving as number))} / ${f3((r.blocks as number) / (r.sketchSurviving as number))} |`,
    ),
    `| all fused | ${sum('blocks')} | ${f1(totals.denseS)} | ${f1(totals.denseBlocksPerS)} | ${f1(totals.denseGflops)} (${(result.totals.denseFractionOfMatmulRate * 100).toFixed(0)} % of matmul) | ${f1(totals.sketchS)} | ${f1(totals.speedup)}x | ${f1(totals.searchSpeedup)}x | min ${totals.recallMin === null ? '-' : (totals.recallMin * 100).toFixed(2) + ' %'} | ${f3(totals.compressionDense)} / ${f3(totals.compressionSketch)} |`,
    `sketch total ${f1(totals.sketchS)} s on ${kernel.name}` +
      (totals.sketchTfjsS !== null
        ? `; the same on the tfjs kernel in this run ${f1(totals.sketchTfjsS)} s: ${f1(totals.sketchSpeedupSameRun!)}x (counts ${totals.sketchTfjsCountsEqual ? 'equal' : 'DIFFER'})`
        : '') +
      `; before the seam (tfjs, an earlier run at load ~1.5): ${BASELINE_SKETCH_S} s for 28 layers`,
    '',
    'Where the sketch stops paying (one layer):',
    '| seqs | blocks | dense s | sketch s | speed-up |',
    '|---|---|---|---|---|',
    ...crossover.map(
      (c) => `| ${c.seqs} | ${c.blocks} | ${f3(c.denseS)} | ${f3(c.sketchS)} | ${f1(c.speedup)}x |`,
    ),
    '| threshold | sketch s | candidates | pairs found | recall | speed-up vs dense at 0.7 |',
    '|---|---|---|---|---|---|',
    ...byThreshold.map(
      (b) =>
        `| ${b.threshold} | ${f3(b.sketchS!)} | ${b.candidates} | ${b.pairsFound} | ${b.recall === null ? '-' : (b.recall * 100).toFixed(2) + ' %'} | ${b.speedupVsDense07 === null ? '-' : f1(b.speedupVsDense07) + 'x'} |`,
    ),
  ];
  process.stdout.write(lines.join('\n') + '\n');
}

main().catch((err: unknown) => {
  process.stderr.write(`bench:fusion failed: ${(err as Error).stack ?? String(err)}\n`);
  process.exitCode = 1;
});
