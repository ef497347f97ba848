import { InputError, MIN_LAYER_ELEMENTS_PER_THREAD, planThreads, type InputIssue } from '@kvplan/core';
import { Worker } from 'node:worker_threads';
import {
  type AnalyzeHooks,
  type LayerFusionResult,
  type ResolvedFusionOptions,
  type SimilarityKernel,
} from '@kvplan/fusion';
import type { CliIo } from './io';
import { processCores, threadEntry } from './threads';

/** What every thread of the pool is started with. */
export interface LayerThreadData {
  tfBackend: string | undefined;
  /** The kernel the main thread got (each thread selects the same one, by name). */
  kernel: 'onnxruntime' | 'tfjs' | 'tfjs-async' | 'js';
  kernelThreads: number;
}

/** One layer to fuse: the options as plain data (no functions cross threads). */
export interface LayerTask {
  id: number;
  file: string;
  infoFile: string | null;
  layer: number;
  options: Omit<ResolvedFusionOptions, 'kernel' | 'clock'>;
  timed: boolean;
}

/** A layer's result, its bad input (a NaN in the file: exit 2 as in-process), or a failure. */
export type LayerThreadReply =
  | { id: number; result: LayerFusionResult }
  | { id: number; issues: InputIssue[] }
  | { id: number; error: string };

interface Pending {
  resolve: (r: LayerFusionResult) => void;
  reject: (e: Error) => void;
}

/**
 * A pool of worker threads that fuse one layer each (the layers of a sample are independent),
 * sized by the process's one thread policy (planThreads: threads x kernel threads <= cores).
 * `hooks()` plugs it into analyzeFusion; `close()` ends the threads. With one worker (one core,
 * or one fused layer) no thread is started and `hooks()` is empty: the layers run in the main
 * thread with a kernel given every core.
 */
export class LayerThreadPool {
  private readonly workers: Worker[] = [];
  private readonly idle: Worker[] = [];
  private readonly queue: Array<{ task: LayerTask; pending: Pending }> = [];
  private readonly pending = new Map<number, Pending>();
  private nextId = 0;
  readonly size: number;
  readonly kernelThreads: number;

  constructor(
    private readonly file: string,
    fusedLayers: number,
    elementsPerLayer: number,
    kernel: LayerThreadData['kernel'],
    io: CliIo,
    minElementsPerThread = MIN_LAYER_ELEMENTS_PER_THREAD,
  ) {
    const plan = planThreads(processCores(), fusedLayers, {
      perTask: elementsPerLayer,
      minPerThread: minElementsPerThread,
    });
    this.size = plan.workers > 1 ? plan.workers : 0;
    this.kernelThreads = plan.kernelThreads;
    if (!this.size) return;
    const data: LayerThreadData = {
      tfBackend: process.env.KVPLAN_TF_BACKEND,
      kernel,
      kernelThreads: plan.kernelThreads,
    };
    for (let i = 0; i < this.size; i++) {
      const w = new Worker(threadEntry('fusion-layer'), { eval: true, workerData: data });
      w.on('message', (msg: LayerThreadReply) => this.settle(w, msg));
      w.on('error', (err) => this.failAll(err));
      w.on('exit', (code) => {
        if (this.pending.size) this.failAll(new Error(`fusion layer thread exited with code ${code}`));
      });
      this.workers.push(w);
      this.idle.push(w);
    }
    io.stderr(
      `kvplan: fusing ${fusedLayers} layers in ${this.size} worker threads (${plan.kernelThreads} kernel thread${plan.kernelThreads === 1 ? '' : 's'} each; ${processCores()} cores)\n`,
    );
  }

  hooks(infoFile: string | null): Pick<AnalyzeHooks, 'fuseLayerAt' | 'concurrency'> {
    if (!this.size) return {};
    return {
      concurrency: this.size,
      fuseLayerAt: (layer, o) => this.run(layer, o, infoFile),
    };
  }

  private run(layer: number, o: ResolvedFusionOptions, infoFile: string | null): Promise<LayerFusionResult> {
    const { kernel: _k, clock, ...options } = o;
    const task: LayerTask = {
      id: this.nextId++,
      file: this.file,
      infoFile,
      layer,
      options,
      timed: clock !== null,
    };
    return new Promise((resolve, reject) => {
      this.queue.push({ task, pending: { resolve, reject } });
      this.pump();
    });
  }

  private pump(): void {
    while (this.idle.length && this.queue.length) {
      const w = this.idle.pop()!;
      const { task, pending } = this.queue.shift()!;
      this.pending.set(task.id, pending);
      w.postMessage(task);
    }
  }

  private settle(w: Worker, msg: LayerThreadReply): void {
    const p = this.pending.get(msg.id);
    this.pending.delete(msg.id);
    this.idle.push(w);
    if (p) {
      if ('issues' in msg) p.reject(new InputError(msg.issues));
      else if ('error' in msg) p.reject(new Error(msg.error));
      else p.resolve(msg.result);
    }
    this.pump();
  }

  private failAll(err: Error): void {
    for (const p of this.pending.values()) p.reject(err);
    this.pending.clear();
    for (const q of this.queue.splice(0)) q.pending.reject(err);
  }

  async close(): Promise<void> {
    await Promise.all(this.workers.map((w) => w.terminate()));
  }
}

/** The choice that gives a thread the same kernel as `k` (selected in the main thread). */
export function kernelChoiceOf(k: SimilarityKernel): LayerThreadData['kernel'] {
  if (k.name === 'onnxruntime-node') return 'onnxruntime';
  if (k.name === 'js' || k.name === 'tfjs-async') return k.name;
  return 'tfjs';
}
