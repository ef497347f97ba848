/**
 * npm run bench:kernels — the similarity kernels side by side on the shapes of the largest BFF
 * merges of a 16,384-dim block layout: [512 x 16384] x [16384 x 512] and [1024 x 16384] x
 * [16384 x 1024], operands as the searches hand them (row-major rows, new operands every call),
 * best of 3. Kernels: onnxruntime-node's CPU Gemm (all cores), tfjs on the selected backend
 * (wasm here), plain Float32Array loops (on 64 rows of the left operand only: the full product
 * would take minutes; its rate is per row). Prints a table, writes bench/results/kernels.json.
 */
import { planThreads } from '@kvplan/core';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import {
  jsKernel,
  selectSimilarityKernel,
  selectTfBackend,
  tfjsKernel,
  type SimilarityKernel,
} from '@kvplan/fusion';

const root = path.resolve(__dirname, '..');
const D = 16384;
const SHAPES = [512, 1024];

function operand(n: number, seed: number): Float32Array {
  const a = new Float32Array(n * D);
  for (let i = 0; i < a.length; i++) a[i] = Math.sin((i + 1) * seed * 0.37);
  return a;
}

function rate(k: SimilarityKernel, m: number, n: number, reps: number): number {
  const a = operand(m, 1);
  const b = operand(n, 2);
  let best = Infinity;
  for (let r = 0; r < reps; r++) {
    const t0 = performance.now();
    k.gram(a, m, b, n, D);
    best = Math.min(best, performance.now() - t0);
  }
  return (2 * m * n * D) / (best / 1000) / 1e9;
}

async function main(): Promise<void> {
  const tfb = await selectTfBackend({ wanted: process.env.KVPLAN_TF_BACKEND });
  const cores = os.availableParallelism();
  const ort = await selectSimilarityKernel({
    wanted: 'onnxruntime',
    threads: planThreads(cores, 1).kernelThreads,
  });
  const rows: Array<{ kernel: string; shape: string; gflops: number; note: string }> = [];
  for (const s of SHAPES) {
    const shape = `${s} x ${D} x ${s}`;
    rows.push({
      kernel: 'onnxruntime-node',
      shape,
      gflops: rate(ort.kernel, s, s, 3),
      note: `${cores} threads`,
    });
    rows.push({
      kernel: `tfjs (${tfb.backend})`,
      shape,
      gflops: rate(tfjsKernel, s, s, 3),
      note: 'one thread',
    });
    rows.push({
      kernel: 'js loops',
      shape,
      gflops: rate(jsKernel, 64, s, 1),
      note: `64 x ${D} x ${s}, one thread`,
    });
    for (const r of rows.slice(-3)) process.stderr.write(`${JSON.stringify(r)}\n`);
  }
  ort.kernel.dispose();
  const result = {
    benchmark: 'kernels',
    machine: {
      cpus: cores,
      cpuModel: os.cpus()[0]?.model ?? 'unknown',
      loadAvg: os.loadavg(),
      node: process.version,
      tfBackend: tfb.backend,
    },
    rows,
  };
  fs.mkdirSync(path.join(root, 'bench', 'results'), { recursive: true });
  fs.writeFileSync(
    path.join(root, 'bench', 'results', 'kernels.json'),
    JSON.stringify(result, null, 2) + '\n',
  );
  const f1 = (x: number): string => x.toFixed(1);
  process.stdout.write(
    [
      `Similarity kernels, GFLOP/s (best of 3, new operands), ${cores} x ${result.machine.cpuModel}, load ${result.machine.loadAvg.map(f1).join(' ')}`,
      '',
      '| kernel | shape | GFLOP/s | note |',
      '|---|---|---:|---|',
      ...rows.map((r) => `| ${r.kernel} | ${r.shape} | ${f1(r.gflops)} | ${r.note} |`),
    ].join('\n') + '\n',
  );
}

main().catch((err: unknown) => {
  process.stderr.write(`bench:kernels failed: ${(err as Error).stack ?? String(err)}\n`);
  process.exitCode = 1;
});
