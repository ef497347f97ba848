import { Worker } from 'node:worker_threads';
import type { AnswerRow } from '@kvplan/core';
import type { CapacityOptions, SloSpec, SweepPoint } from '@kvplan/sim';
import type { SpecFile } from './spec-file';
import { threadEntry, threadsFor } from './threads';

/** One configuration to evaluate in a sweep thread. */
export interface SweepTask {
  index: number;
  label: string;
  over: Record<string, unknown>;
}

/** A configuration's sweep row, and its answer row when the sweep has a target rate. */
export interface SweepRow {
  point: SweepPoint;
  row: AnswerRow | null;
}

/** What the parent sends a sweep thread once, and each task after. */
export interface SweepThreadData {
  spec: SpecFile;
  slo: SloSpec;
  opts: Omit<CapacityOptions, 'onProbe'>;
}

export type SweepThreadMessage =
  | { type: 'probe'; index: number; probes: number; maxProbes: number }
  | { type: 'done'; index: number; point: SweepPoint; row: AnswerRow | null }
  | { type: 'error'; index: number; message: string };

/** A sweep configuration as an answer row names it (the CLI has no deployments: its label). */
export function sweepConfig(task: SweepTask): {
  index: number;
  deploymentId: string;
  deploymentName: string;
} {
  return { index: task.index, deploymentId: '', deploymentName: task.label };
}

/** Threads for a sweep: the process's one thread policy (one per core, never more than the tasks). */
export function defaultThreads(tasks: number): number {
  return threadsFor(tasks);
}

/**
 * Evaluates the tasks on `threads` worker threads, each taking the next task when it finishes one.
 * `onProgress(fraction)` reports finished tasks plus the probes of those under way.
 */
export async function runSweepThreads(
  data: SweepThreadData,
  tasks: SweepTask[],
  threads: number,
  onProgress: (fraction: number, detail: string) => void,
): Promise<Map<number, SweepRow>> {
  const results = new Map<number, SweepRow>();
  const partial = new Map<number, number>();
  const queue = [...tasks];
  const report = (detail: string) => {
    let done = results.size;
    for (const f of partial.values()) done += f;
    onProgress(done / Math.max(tasks.length, 1), detail);
  };
  const one = () =>
    new Promise<void>((resolve, reject) => {
      const worker = new Worker(threadEntry('capacity'), { eval: true, workerData: data });
      const next = () => {
        const task = queue.shift();
        if (task) worker.postMessage(task);
        else void worker.terminate().then(() => resolve());
      };
      worker.on('message', (m: SweepThreadMessage) => {
        const label = tasks.find((t) => t.index === m.index)?.label ?? '';
        if (m.type === 'probe') {
          partial.set(m.index, Math.min(m.probes / m.maxProbes, 0.95));
          report(label);
        } else if (m.type === 'done') {
          partial.delete(m.index);
          results.set(m.index, { point: m.point, row: m.row });
          report(label);
          next();
        } else {
          void worker.terminate();
          reject(new Error(`sweep thread, ${label}: ${m.message}`));
        }
      });
      worker.on('error', (err) => reject(err));
      next();
    });
  await Promise.all(Array.from({ length: Math.min(threads, tasks.length) }, one));
  return results;
}
