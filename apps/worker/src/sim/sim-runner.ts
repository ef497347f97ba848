import { threadScript } from '../thread-bundle';
import type { AnswerRow, ProjectionRun, SloSpec } from '@kvplan/core';
import type { AnswerConfig } from '@kvplan/sim';
import { runInThread, type ThreadMessage } from '../run-in-thread';

export interface RunOptions {
  /** Also compute what the dashboard draws (libs/sim's runCharts), as the run's `charts`. */
  charts?: boolean;
  /** A stored kvplan-fusion-profile/1 for the spec's fusion (validated by the resolver). */
  fusionProfile?: Record<string, unknown> | null;
  /** Stops the run (the job was cancelled). */
  signal?: AbortSignal;
}

/** What an answer plan's configuration is evaluated for (libs/sim's answerRow). */
export interface AnswerTask {
  slo: SloSpec;
  config: AnswerConfig;
  /** The rate to serve; absent: the workload's own mean rate. */
  targetRate?: number;
  maxReplicas: number;
}

export interface SimThreadInput extends Omit<RunOptions, 'signal'> {
  spec: Record<string, unknown>;
  baseDir: string;
  /** The work budget: simulator events one run may process. */
  maxEvents: number;
  /** Evaluate an answer plan's configuration (a capacity search) instead of one run. */
  answer?: AnswerTask;
}

/**
 * Runs of one answer configuration's search (max-rate probes, then replica counts): its work
 * budget is this many times one simulation's.
 */
export const ANSWER_BUDGET_RUNS = 40;

/** Limits of every simulation (WorkerConfig.simMaxEvents, simMaxWallMs). */
export interface SimLimits {
  maxEvents: number;
  maxWallMs: number;
}

export type SimThreadResult = { type: 'result'; run: ProjectionRun } | { type: 'result'; answer: AnswerRow };
export type SimThreadMessage = ThreadMessage<SimThreadResult>;

/** Runs simulations (also the DI token). The production runner uses a worker thread. */
export abstract class SimRunner {
  abstract run(
    spec: Record<string, unknown>,
    onProgress: (fraction: number) => void,
    opts?: RunOptions,
  ): Promise<ProjectionRun>;

  /** An answer plan's configuration: the capacity search and its row (libs/sim's answerRow). */
  abstract answer(
    spec: Record<string, unknown>,
    task: AnswerTask,
    onProgress: (fraction: number) => void,
    opts?: RunOptions,
  ): Promise<AnswerRow>;
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
      threadScript('sim'),
      input,
      onProgress,
      // The thread answers what its input asked for: a run here.
      (msg: SimThreadResult) => (msg as Extract<SimThreadResult, { run: unknown }>).run,
      'simulation',
      { timeoutMs: this.limits.maxWallMs, signal },
    );
  }

  answer(
    spec: Record<string, unknown>,
    task: AnswerTask,
    onProgress: (fraction: number) => void,
    opts: RunOptions = {},
  ): Promise<AnswerRow> {
    const { signal, ...rest } = opts;
    const input: SimThreadInput = {
      spec,
      baseDir: this.baseDir,
      maxEvents: this.limits.maxEvents * ANSWER_BUDGET_RUNS,
      ...rest,
      answer: task,
    };
    return runInThread(
      threadScript('sim'),
      input,
      onProgress,
      (msg: SimThreadResult) => (msg as Extract<SimThreadResult, { answer: unknown }>).answer,
      'capacity search',
      // A search is many simulations: the wall-time limit of one, times the budget's runs.
      { timeoutMs: this.limits.maxWallMs * ANSWER_BUDGET_RUNS, signal },
    );
  }
}
