import { parentPort, workerData } from 'node:worker_threads';
import { InputError } from '@kvplan/core';
import {
  fuseLayer,
  fuseLayerAsync,
  openKvSample,
  selectSimilarityKernel,
  selectTfBackend,
  type ResolvedFusionOptions,
  type KvFileReader,
  type SimilarityKernel,
} from '@kvplan/fusion';
import type { LayerTask, LayerThreadData, LayerThreadReply } from './fusion-threads';

// One thread of the CLI's layer pool: opens the sample itself (layers never cross threads as
// data), fuses the layers it is sent with its own kernel, and posts each result back.
const setup = workerData as LayerThreadData;
let kernel: Promise<SimilarityKernel> | null = null;
let tf: Promise<unknown> | null = null;
const readers = new Map<string, KvFileReader>();

function reader(file: string): KvFileReader {
  let r = readers.get(file);
  if (!r) {
    r = openKvSample(file);
    readers.set(file, r);
  }
  return r;
}

async function fuse(task: LayerTask): Promise<LayerThreadReply> {
  kernel ??= selectSimilarityKernel({ wanted: setup.kernel, threads: setup.kernelThreads }).then(
    (k) => k.kernel,
  );
  const k = await kernel;
  // tfjs only where it is used: the attention probe, or tfjs as the kernel.
  if (task.options.attention || k.name.startsWith('tfjs'))
    tf ??= selectTfBackend({ wanted: setup.tfBackend });
  if (tf) await tf;
  const r = reader(task.file);
  const options: ResolvedFusionOptions = {
    ...task.options,
    kernel: k,
    clock: task.timed ? () => performance.now() : null,
  };
  const layer = r.readLayer(task.layer);
  const info = { ...r.info, file: task.infoFile };
  const result = k.gramAsync ? await fuseLayerAsync(layer, info, options) : fuseLayer(layer, info, options);
  return { id: task.id, result };
}

// The pool terminates the thread when the command is done (the files and the kernel go with it).
parentPort!.on('message', (task: LayerTask) => {
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
