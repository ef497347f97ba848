/**
 * npm run check:gpu — what can run kvplan's tensor work on this machine, and does it agree with
 * the CPU path. For every tfjs backend (wasm, cpu, node, node-gpu, webgpu): does it load, and why
 * not; for every similarity kernel (onnxruntime-node, and tfjs on each backend that loaded): the
 * fusion counts of a small sample (8 sequences x 16 blocks x 2 fused layers, 16 tokens x 8 KV
 * heads x 128, BFF dense at 0.5 / 0.7 / 0.9) against plain JS loops, and the time per layer;
 * tfjs on each backend also read back asynchronously (tfjs-async, fuseLayerAsync: the route
 * WebGPU under Node needs, as it has no synchronous read).
 * It exits 0 whatever is missing (a machine without a GPU reports each GPU route and why it is
 * out); it exits 1 only when a route that ran gave different counts. Writes
 * bench/results/gpu-check.json.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import {
  fuseLayer,
  fuseLayerAsync,
  jsKernel,
  resolveFusionOptions,
  selectSimilarityKernel,
  selectTfBackend,
  synthesizeKvSample,
  tfjsAsyncKernel,
  tfjsKernel,
  type SimilarityKernel,
  type TfBackendChoice,
} from '@kvplan/fusion';

const root = path.resolve(__dirname, '..');
const BACKENDS: Array<Exclude<TfBackendChoice, 'auto'>> = ['wasm', 'cpu', 'node', 'node-gpu', 'webgpu'];
const THRESHOLDS = [0.5, 0.7, 0.9];

interface Route {
  route: string;
  loaded: boolean;
  why: string | null;
  counts: number[][] | null;
  equal: boolean | null;
  secondsPerLayer: number | null;
}

const sample = synthesizeKvSample({
  numSeqs: 8,
  blocksPerSeq: 16,
  numLayers: 6,
  blockSize: 16,
  numKvHeads: 8,
  headDim: 128,
  model: 'meta-llama/Llama-3.1-8B',
  seed: 3,
});
const layers = [2, 3].map((l) => sample.readLayer(l));

function fuse(kernel: SimilarityKernel): { counts: number[][]; seconds: number } {
  const t0 = performance.now();
  const counts = layers.map((layer) =>
    fuseLayer(
      layer,
      sample.info,
      resolveFusionOptions({ thresholds: THRESHOLDS, attention: false, kernel }, sample.info),
    ).thresholds.map((r) => r.survivingBlocks),
  );
  return { counts, seconds: (performance.now() - t0) / 1000 / layers.length };
}

/** The same with each product awaited (an asynchronous kernel). */
async function fuseAsync(kernel: SimilarityKernel): Promise<{ counts: number[][]; seconds: number }> {
  const t0 = performance.now();
  const counts: number[][] = [];
  for (const layer of layers) {
    const r = await fuseLayerAsync(
      layer,
      sample.info,
      resolveFusionOptions({ thresholds: THRESHOLDS, attention: false, kernel }, sample.info),
    );
    counts.push(r.thresholds.map((t) => t.survivingBlocks));
  }
  return { counts, seconds: (performance.now() - t0) / 1000 / layers.length };
}

function why(err: unknown): string {
  return (err instanceof Error ? err.message : String(err)).split('\n')[0].slice(0, 300);
}

async function main(): Promise<void> {
  const reference = fuse(jsKernel);
  const routes: Route[] = [];
  const tryKernel = async (route: string, kernel: SimilarityKernel): Promise<void> => {
    try {
      const r = kernel.gramAsync ? await fuseAsync(kernel) : fuse(kernel);
      const equal = JSON.stringify(r.counts) === JSON.stringify(reference.counts);
      routes.push({ route, loaded: true, why: null, counts: r.counts, equal, secondsPerLayer: r.seconds });
    } catch (err) {
      routes.push({
        route,
        loaded: false,
        why: `loads, but fusion failed: ${why(err)}`,
        counts: null,
        equal: null,
        secondsPerLayer: null,
      });
    }
  };
  const ort = await selectSimilarityKernel({ wanted: 'auto', threads: os.availableParallelism() });
  if (ort.fallback)
    routes.push({
      route: 'kernel onnxruntime-node (CPU)',
      loaded: false,
      why: ort.fallback,
      counts: null,
      equal: null,
      secondsPerLayer: null,
    });
  else await tryKernel('kernel onnxruntime-node (CPU)', ort.kernel);
  ort.kernel.dispose();
  for (const b of BACKENDS) {
    try {
      const got = await selectTfBackend({ wanted: b });
      await tryKernel(`kernel tfjs on backend ${got.backend} (${b})`, tfjsKernel);
      await tryKernel(`kernel tfjs-async on backend ${got.backend} (${b})`, tfjsAsyncKernel);
    } catch (err) {
      routes.push({
        route: `kernel tfjs on backend ${b}`,
        loaded: false,
        why: why(err),
        counts: null,
        equal: null,
        secondsPerLayer: null,
      });
    }
  }
  const result = {
    check: 'gpu',
    machine: {
      cpus: os.cpus().length,
      cpuModel: os.cpus()[0]?.model ?? 'unknown',
      loadAvg: os.loadavg(),
      node: process.version,
    },
    sample: '8 seqs x 16 blocks, 16 tokens x 8 KV heads x 128, layers 2-3, BFF dense',
    thresholds: THRESHOLDS,
    reference: { route: 'js loops', counts: reference.counts, secondsPerLayer: reference.seconds },
    routes,
    tfBackendAtEnd: tf.getBackend(),
  };
  fs.mkdirSync(path.join(root, 'bench', 'results'), { recursive: true });
  fs.writeFileSync(
    path.join(root, 'bench', 'results', 'gpu-check.json'),
    JSON.stringify(result, null, 2) + '\n',
  );
  const lines = [
    `kvplan GPU check: ${result.machine.cpus} x ${result.machine.cpuModel}, node ${process.version}; sample ${result.sample} at ${THRESHOLDS.join(' / ')}`,
    `reference (js loops): surviving ${reference.counts.map((c) => c.join('/')).join(', ')}, ${reference.seconds.toFixed(3)} s per layer`,
    '',
    '| route | runs | counts equal | s per layer | why not |',
    '|---|---|---|---:|---|',
    ...routes.map(
      (r) =>
        `| ${r.route} | ${r.loaded ? 'yes' : 'no'} | ${r.equal === null ? '-' : r.equal ? 'yes' : 'NO'} | ${r.secondsPerLayer === null ? '-' : r.secondsPerLayer.toFixed(3)} | ${r.why ?? ''} |`,
    ),
  ];
  process.stdout.write(lines.join('\n') + '\n');
  if (routes.some((r) => r.equal === false)) process.exitCode = 1;
}

main().catch((err: unknown) => {
  process.stderr.write(`check:gpu failed: ${(err as Error).stack ?? String(err)}\n`);
  process.exitCode = 1;
});
