import * as path from 'node:path';
import type { ProjectionRun } from '@kvplan/core';
import { runInThread, type ThreadMessage } from '../run-in-thread';

export interface RunOptions {
  /** Also compute what the dashboard draws (libs/sim's runCharts), as the run's `charts`. */
  charts?: boolean;
  /** A stored kvplan-fusion-profile/1 for the spec's fusion (validated by the resolver). */
  fusionProfile?: Record<string, unknown> | null;
  /** Stops the run (the job was cancelled). */
  signal?: AbortSignal;
}

export interface SimThreadInput extends Omit<RunOptions, 'signal'> {
  spec: Record<string, unknown>;
  baseDir: string;
  /** The work budget: simulator events one run may process. */
  maxEvents: number;
}

/** Limits of every simulation (WorkerConfig.simMaxEvents, simMaxWallMs). */
export interface SimLimits {
  maxEvents: number;
  maxWallMs: number;
}

export type SimThreadMessage = ThreadMessage<{ type: 'result'; run: ProjectionRun }>;

/** Runs simulations (also the DI token). The production runner uses a worker thread. */
export abstract class SimRunner {
  abstract run(
    spec: Record<string, unknown>,
    onProgress: (fraction: number) => void,
    opts?: RunOptions,
  ): Promise<ProjectionRun>;
}

/**
 * Each simulation in its own worker thread (libs/sim's resolve + simulateRun), so a long run
 * never blocks the event loop that renews BullMQ locks. A bad spec rejects with an InputError.
 */
export class ThreadSimRunner extends SimRunner {
  constructor(
    private readonly baseDir: string,
    private readonly limits: SimLimits,
  ) {
    super();
  }

  run(
    spec: Record<string, unknown>,
    onProgress: (fraction: number) => void,
    opts: RunOptions = {},
  ): Promise<ProjectionRun> {
    const { signal, ...rest } = opts;
    const input: SimThreadInput = { spec, baseDir: this.baseDir, maxEvents: this.limits.maxEvents, ...rest };
    return runInThread(
      path.join(__dirname, 'sim.thread.js'),
      input,
      onProgress,
      (msg: { type: 'result'; run: ProjectionRun }) => msg.run,
      'simulation',
      { timeoutMs: this.limits.maxWallMs, signal },
    );
  }
}
