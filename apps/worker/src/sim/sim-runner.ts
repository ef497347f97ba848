import * as path from 'node:path';
import { runInThread, type ThreadMessage } from '../run-in-thread';

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

export type SimThreadMessage = ThreadMessage<{ type: 'result'; result: Record<string, unknown> }>;

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
    return runInThread(
      path.join(__dirname, 'sim.thread.js'),
      input,
      onProgress,
      (msg: { type: 'result'; result: Record<string, unknown> }) => msg.result,
      'simulation',
    );
  }
}
