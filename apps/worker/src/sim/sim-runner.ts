import * as path from 'node:path';
import { Worker } from 'node:worker_threads';
import { InputError, type InputIssue } from '@kvplan/sim';

export interface SimThreadInput {
  spec: Record<string, unknown>;
  baseDir: string;
  /** Also compute what the dashboard draws (projection-charts.ts), as the result's `charts`. */
  charts?: boolean;
}

export interface RunOptions {
  /** Add `charts` (RunCharts) to the result: the run's CDFs, KV series and sweeps. */
  charts?: boolean;
}

export type SimThreadMessage =
  | { type: 'progress'; fraction: number }
  | { type: 'result'; result: Record<string, unknown> }
  | { type: 'input-error'; issues: InputIssue[] }
  | { type: 'error'; message: string };

/** Runs simulations (also the DI token). The production runner uses a worker thread. */
export abstract class SimRunner {
  abstract run(
    spec: Record<string, unknown>,
    onProgress: (fraction: number) => void,
    opts?: RunOptions,
  ): Promise<Record<string, unknown>>;
}

/**
 * Each simulation in its own worker thread (resolve + run of @kvplan/sim), so a long run never
 * blocks the event loop that renews BullMQ locks. A bad spec rejects with an InputError.
 */
export class ThreadSimRunner extends SimRunner {
  constructor(private readonly baseDir: string) {
    super();
  }

  run(
    spec: Record<string, unknown>,
    onProgress: (fraction: number) => void,
    opts: RunOptions = {},
  ): Promise<Record<string, unknown>> {
    const input: SimThreadInput = { spec, baseDir: this.baseDir, charts: opts.charts === true };
    return new Promise((resolve, reject) => {
      const thread = new Worker(path.join(__dirname, 'sim.thread.js'), { workerData: input });
      let settled = false;
      const settle = (fn: () => void) => {
        if (settled) return;
        settled = true;
        fn();
        void thread.terminate();
      };
      thread.on('message', (msg: SimThreadMessage) => {
        if (msg.type === 'progress') onProgress(msg.fraction);
        else if (msg.type === 'result') settle(() => resolve(msg.result));
        else if (msg.type === 'input-error') settle(() => reject(new InputError(msg.issues)));
        else settle(() => reject(new Error(msg.message)));
      });
      thread.on('error', (err) => settle(() => reject(err)));
      thread.on('exit', (code) =>
        settle(() => reject(new Error(`simulation thread exited with code ${code}`))),
      );
    });
  }
}
