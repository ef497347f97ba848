import { threadScript } from '../thread-bundle';
import { runInThread } from '../run-in-thread';
import type { FusionJobResult } from '@kvplan/model';
import type { FusionJobInput } from './fusion-job';

/** Runs fusion-profile jobs (also the DI token). The production runner uses a worker thread. */
export abstract class FusionRunner {
  /** `signal`: stops the job (it was cancelled); the promise then rejects with a JobStoppedError. */
  abstract run(
    input: FusionJobInput,
    onProgress: (fraction: number) => void,
    signal?: AbortSignal,
  ): Promise<FusionJobResult>;
}

/**
 * How long a fusion thread asked to stop may take to reach its next checkpoint. Its checkpoints
 * fall between layers, and a large layer fuses for seconds; terminating the thread (or one of its
 * layer threads) while it is inside onnxruntime's run aborts the whole process, so a stop waits
 * for the layer in hand rather than cut it off.
 */
export const FUSION_STOP_GRACE_MS = 60_000;

/**
 * Each fusion job in its own worker thread (sampling, KV capture or synthesis, BFF/CFF, the fit),
 * so the tensor work never blocks the event loop that renews BullMQ locks. Bad input (a trace, a
 * KV sample, a fusion option) rejects with an InputError, which fails the job without retries.
 * A cancel is noticed by the thread between layers, batches and stages (its checkpoints).
 */
export class ThreadFusionRunner extends FusionRunner {
  run(
    input: FusionJobInput,
    onProgress: (fraction: number) => void,
    signal?: AbortSignal,
  ): Promise<FusionJobResult> {
    return runInThread(
      threadScript('fusion'),
      input,
      onProgress,
      (msg: { type: 'result'; output: FusionJobResult }) => msg.output,
      'fusion',
      { signal, stopGraceMs: FUSION_STOP_GRACE_MS },
    );
  }
}
