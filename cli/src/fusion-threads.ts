import { Worker } from 'node:worker_threads';
import { LayerThreadPool, type SimilarityKernel } from '@kvplan/fusion';
import type { CliIo } from './io';
import { processCores, threadEntry } from './threads';

/**
 * `kvplan fuse`'s layer threads: libs/fusion's LayerThreadPool over the process's cores
 * (KVPLAN_THREADS caps them), each thread on cli/src/fusion-layer.thread.ts with the kernel the
 * main thread got, opening the KV file itself. Says on stderr how the layers are spread; with no
 * thread (one core, or too little work) the layers run in the main thread with every core.
 */
export function cliLayerThreads(
  file: { path: string; name: string | null },
  fusedLayers: number,
  elementsPerLayer: number,
  kernel: SimilarityKernel,
  io: CliIo,
  minElementsPerThread?: number,
): LayerThreadPool {
  const cores = processCores();
  const pool = new LayerThreadPool({
    cores,
    fusedLayers,
    elementsPerLayer,
    minElementsPerThread,
    setup: { kernel: kernelChoiceOf(kernel), tfBackend: process.env.KVPLAN_TF_BACKEND ?? null },
    start: (setup) => new Worker(threadEntry('fusion-layer'), { eval: true, workerData: setup }),
    file,
  });
  if (pool.threads)
    io.stderr(
      `kvplan: fusing ${fusedLayers} layers in ${pool.threads} worker threads (${pool.kernelThreads} kernel thread${pool.kernelThreads === 1 ? '' : 's'} each; ${cores} cores)\n`,
    );
  return pool;
}

/** The choice that gives a thread the same kernel as `k` (selected in the main thread). */
export function kernelChoiceOf(k: SimilarityKernel): 'onnxruntime' | 'tfjs' | 'tfjs-async' | 'js' {
  if (k.name === 'onnxruntime-node') return 'onnxruntime';
  if (k.name === 'js' || k.name === 'tfjs-async') return k.name;
  return 'tfjs';
}
