import { parentPort } from 'node:worker_threads';
import { InputError } from '@kvplan/core';
import {
  selectSimilarityKernel,
  selectTfBackend,
  type SelectedKernel,
  type SelectedTfBackend,
} from '@kvplan/fusion';
import { StopRequested, jobThread } from '../thread-stop';
import { layerThreadsOf, runFusionJob, type FusionJobInput, type FusionThreadMessage } from './fusion-job';

// Runs inside a worker thread: tensor work (fusion search, a model's forward passes) is
// synchronous for seconds at a time, and here it cannot delay the main thread's BullMQ lock
// renewals. The tfjs backend is chosen once per thread (each thread has its own tfjs).
function post(msg: FusionThreadMessage): void {
  parentPort!.postMessage(msg);
}

const { input, checkpoint } = jobThread<FusionJobInput>();
let backend: Promise<SelectedTfBackend> | null = null;
let kernel: Promise<SelectedKernel> | null = null;

runFusionJob(input, {
  progress: (fraction) => post({ type: 'progress', fraction }),
  backend: () => (backend ??= selectTfBackend({ wanted: input.tfBackend, source: 'KVPLAN_TF_BACKEND' })),
  kernel: () =>
    (kernel ??= selectSimilarityKernel({
      wanted: input.similarityKernel,
      threads: input.cores,
      source: 'KVPLAN_SIMILARITY_KERNEL',
    })),
  clock: () => performance.now(),
  layerThreads: layerThreadsOf(input),
  // Between layers, batches and stages: a cancelled job stops there, its layer threads and
  // model released by the build on the way out.
  checkpoint,
})
  .then((output) => post({ type: 'result', output }))
  .catch((err: unknown) => {
    if (err instanceof StopRequested) post({ type: 'stopped' });
    else if (err instanceof InputError) post({ type: 'input-error', issues: err.issues });
    else post({ type: 'error', message: err instanceof Error ? err.message : String(err) });
  });
