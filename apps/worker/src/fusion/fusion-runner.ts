import * as path from 'node:path';
import { Worker } from 'node:worker_threads';
import { InputError } from '@kvplan/sim';
import type { FusionJobInput, FusionJobOutput, FusionThreadMessage } from './fusion-job';

/** Runs fusion-profile jobs (also the DI token). The production runner uses a worker thread. */
export abstract class FusionRunner {
  abstract run(input: FusionJobInput, onProgress: (fraction: number) => void): Promise<FusionJobOutput>;
}

/**
 * Each fusion job in its own worker thread (sampling, KV capture or synthesis, BFF/CFF, the fit),
 * so the tensor work never blocks the event loop that renews BullMQ locks. Bad input (a trace, a
 * KV sample, a fusion option) rejects with an InputError, which fails the job without retries.
 */
export class ThreadFusionRunner extends FusionRunner {
  run(input: FusionJobInput, onProgress: (fraction: number) => void): Promise<FusionJobOutput> {
    return new Promise((resolve, reject) => {
      const thread = new Worker(path.join(__dirname, 'fusion.thread.js'), { workerData: input });
      let settled = false;
      const settle = (fn: () => void) => {
        if (settled) return;
        settled = true;
        fn();
        void thread.terminate();
      };
      thread.on('message', (msg: FusionThreadMessage) => {
        if (msg.type === 'progress') onProgress(msg.fraction);
        else if (msg.type === 'result') settle(() => resolve(msg.output));
        else if (msg.type === 'input-error') settle(() => reject(new InputError(msg.issues)));
        else settle(() => reject(new Error(msg.message)));
      });
      thread.on('error', (err) => settle(() => reject(err)));
      thread.on('exit', (code) => settle(() => reject(new Error(`fusion thread exited with code ${code}`))));
    });
  }
}
