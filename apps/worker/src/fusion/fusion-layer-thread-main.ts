import { parentPort, workerData } from 'node:worker_threads';
import { InputError } from '@kvplan/core';
import {
  fuseLayer,
  fuseLayerAsync,
  selectSimilarityKernel,
  selectTfBackend,
  type SimilarityKernel,
} from '@kvplan/fusion';
import type { LayerThreadReply, LayerThreadSetup, LayerThreadTask } from './layer-threads';

// One layer thread of a fusion job: its own kernel (the job's choice, the plan's kernel threads)
// and, where the attention probe or the tfjs kernel needs it, its own tfjs backend.
const setup = workerData as LayerThreadSetup;
let kernel: Promise<SimilarityKernel> | null = null;
let tf: Promise<unknown> | null = null;

async function fuse(task: LayerThreadTask): Promise<LayerThreadReply> {
  kernel ??= selectSimilarityKernel({
    wanted: setup.similarityKernel,
    threads: setup.kernelThreads,
    source: 'KVPLAN_SIMILARITY_KERNEL',
  }).then((k) => k.kernel);
  const k = await kernel;
  if (task.options.attention || k.name.startsWith('tfjs'))
    tf ??= selectTfBackend({ wanted: setup.tfBackend, source: 'KVPLAN_TF_BACKEND' });
  if (tf) await tf;
  const options = { ...task.options, kernel: k, clock: task.timed ? () => performance.now() : null };
  const result = k.gramAsync
    ? await fuseLayerAsync(task.layer, task.info, options)
    : fuseLayer(task.layer, task.info, options);
  return { id: task.id, result };
}

parentPort!.on('message', (task: LayerThreadTask) => {
  fuse(task)
    .then((reply) => parentPort!.postMessage(reply))
    .catch((err: unknown) =>
      parentPort!.postMessage(
        err instanceof InputError
          ? { id: task.id, issues: err.issues }
          : { id: task.id, error: err instanceof Error ? err.message : String(err) },
      ),
    );
});
