import { Worker } from 'node:worker_threads';
import { LayerThreadPool, type LayerThreads } from '@kvplan/fusion';
import { threadScript } from '../thread-bundle';

/** A fusion job's kernel and tfjs backend settings (KVPLAN_SIMILARITY_KERNEL, KVPLAN_TF_BACKEND; null: auto). */
export interface JobThreadSettings {
  similarityKernel: string | null;
  tfBackend: string | null;
}

/**
 * A fusion job's layer threads: libs/fusion's LayerThreadPool over the cores the job may use (the
 * least work worth a thread as the CLI's), each thread on the bundled fusion-layer-thread-main.ts
 * with the job's settings; each layer is read in the job's thread and sent (the job's KV may be a
 * subset, a capture or synthetic: no file to open). Null where one thread is all the work pays for
 * (the layers are then fused in the job's own thread).
 */
export function jobLayerThreads(
  cores: number,
  fusedLayers: number,
  elementsPerLayer: number,
  settings: JobThreadSettings,
  minElementsPerThread?: number,
): LayerThreads | null {
  const pool = new LayerThreadPool({
    cores,
    fusedLayers,
    elementsPerLayer,
    minElementsPerThread,
    setup: {
      kernel: settings.similarityKernel,
      kernelSource: 'KVPLAN_SIMILARITY_KERNEL',
      tfBackend: settings.tfBackend,
      tfBackendSource: 'KVPLAN_TF_BACKEND',
    },
    start: (setup) => new Worker(threadScript('fusion-layer'), { workerData: setup }),
  });
  return pool.threads ? pool : null;
}
