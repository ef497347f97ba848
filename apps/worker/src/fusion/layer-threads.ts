import { threadScript } from '../thread-bundle';
import { Worker } from 'node:worker_threads';
import { InputError, MIN_LAYER_ELEMENTS_PER_THREAD, planThreads, type InputIssue } from '@kvplan/core';
import type {
  KvLayer,
  KvSampleInfo,
  LayerFusionResult,
  LayerThreads,
  ResolvedFusionOptions,
} from '@kvplan/fusion';

/** What a fusion job's layer threads are started with. */
export interface LayerThreadSetup {
  /** KVPLAN_SIMILARITY_KERNEL and KVPLAN_TF_BACKEND (auto when null). */
  similarityKernel: string | null;
  tfBackend: string | null;
  kernelThreads: number;
}

/** One layer to fuse, as data (the job's KV may be a subset, a capture or synthetic: no file to open). */
export interface LayerThreadTask {
  id: number;
  layer: KvLayer;
  info: KvSampleInfo;
  options: Omit<ResolvedFusionOptions, 'kernel' | 'clock'>;
  timed: boolean;
}

export type LayerThreadReply =
  | { id: number; result: LayerFusionResult }
  | { id: number; issues: InputIssue[] }
  | { id: number; error: string };

/**
 * A fusion job's layer threads, sized by the one thread policy (libs/core planThreads over the
 * cores the job may use, the least work worth a thread as the CLI's): null where one thread is
 * all it pays for (the layers are then fused in the job's own thread). Each thread has its own
 * kernel with the plan's kernel threads, so threads x kernel threads <= cores.
 */
export function jobLayerThreads(
  cores: number,
  fusedLayers: number,
  elementsPerLayer: number,
  setup: Omit<LayerThreadSetup, 'kernelThreads'>,
  minElementsPerThread = MIN_LAYER_ELEMENTS_PER_THREAD,
): LayerThreads | null {
  const plan = planThreads(cores, fusedLayers, {
    perTask: elementsPerLayer,
    minPerThread: minElementsPerThread,
  });
  if (plan.workers < 2) return null;
  return new JobLayerThreads(plan.workers, { ...setup, kernelThreads: plan.kernelThreads });
}

class JobLayerThreads implements LayerThreads {
  private readonly workers: Worker[] = [];
  private readonly idle: Worker[] = [];
  private readonly queue: Array<{ task: LayerThreadTask; resolve: Settle; reject: Fail }> = [];
  private readonly pending = new Map<number, { resolve: Settle; reject: Fail }>();
  private nextId = 0;

  constructor(
    readonly threads: number,
    setup: LayerThreadSetup,
  ) {
    for (let i = 0; i < threads; i++) {
      const w = new Worker(threadScript('fusion-layer'), { workerData: setup });
      w.on('message', (msg: LayerThreadReply) => this.settle(w, msg));
      w.on('error', (err) => this.failAll(err));
      w.on('exit', (code) => {
        if (this.pending.size) this.failAll(new Error(`fusion layer thread exited with code ${code}`));
      });
      this.workers.push(w);
      this.idle.push(w);
    }
  }

  hooks(): ReturnType<LayerThreads['hooks']> {
    return {
      concurrency: this.threads,
      fuseLayerAt: (_layer, o, sample) => {
        const { kernel: _k, clock, ...options } = o;
        // The layer is read (and checked) here; a bad one rejects with the reader's InputError.
        const task: LayerThreadTask = {
          id: this.nextId++,
          layer: sample.read(),
          info: sample.info,
          options,
          timed: clock !== null,
        };
        return new Promise<LayerFusionResult>((resolve, reject) => {
          this.queue.push({ task, resolve, reject });
          this.pump();
        });
      },
    };
  }

  private pump(): void {
    while (this.idle.length && this.queue.length) {
      const w = this.idle.pop()!;
      const { task, resolve, reject } = this.queue.shift()!;
      this.pending.set(task.id, { resolve, reject });
      // Arrays that own their buffer move to the thread; views of a larger one are copied.
      const own = [task.layer.key, task.layer.value, task.layer.query]
        .filter(
          (a): a is Float32Array => a !== null && a.byteOffset === 0 && a.byteLength === a.buffer.byteLength,
        )
        .map((a) => a.buffer as ArrayBuffer);
      w.postMessage(task, [...new Set(own)]);
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
    for (const q of this.queue.splice(0)) q.reject(err);
  }

  /**
   * Ends the threads. Layers not started are dropped (their calls reject); a layer still being
   * fused (a measurement stopped midway: the job was cancelled) is let finish first, so no thread
   * is terminated in the middle of the similarity kernel's native work (onnxruntime's own threads).
   */
  async close(): Promise<void> {
    for (const q of this.queue.splice(0)) q.reject(new Error('fusion layer threads closed'));
    while (this.pending.size) await new Promise((r) => setTimeout(r, 10));
    await Promise.all(this.workers.map((w) => w.terminate()));
  }
}

type Settle = (r: LayerFusionResult) => void;
type Fail = (e: Error) => void;
