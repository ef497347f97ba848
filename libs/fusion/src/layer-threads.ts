import { parentPort, workerData, type Worker } from 'node:worker_threads';
import { InputError, MIN_LAYER_ELEMENTS_PER_THREAD, planThreads, type InputIssue } from '@kvplan/core';
import type { AnalyzeHooks, LayerThreads } from './analyze';
import { selectTfBackend } from './backend';
import { fuseLayer, fuseLayerAsync, type LayerFusionResult } from './fuse-layer';
import type { SimilarityKernel } from './kernel';
import { selectSimilarityKernel } from './kernel-select';
import { openKvSample, type KvFileReader } from './kv-file';
import type { KvLayer, KvSampleInfo } from './kv-types';
import type { ResolvedFusionOptions } from './options';

/** What every thread of a layer pool is started with (its workerData). */
export interface LayerThreadSetup {
  /** The similarity kernel each thread selects by name (selectSimilarityKernel's `wanted`; null: auto). */
  kernel: string | null;
  /** The setting `kernel` came from, for messages (e.g. KVPLAN_SIMILARITY_KERNEL). */
  kernelSource?: string;
  /** The tfjs backend a thread selects where it needs tfjs (null: auto). */
  tfBackend: string | null;
  tfBackendSource?: string;
  /** Each thread's kernel threads: the plan's, so that threads x kernel threads <= cores. */
  kernelThreads: number;
}

/**
 * One layer to fuse. Its data is sent along (`data`: the caller read it, so a sample that is a
 * subset, a capture or synthetic needs no file), or the thread reads it from the KV file it opens
 * itself (`file`: a layer never crosses threads as data). The options travel as plain data.
 */
export interface LayerThreadTask {
  id: number;
  layer: number;
  data: { layer: KvLayer; info: KvSampleInfo } | null;
  file: { path: string; name: string | null } | null;
  options: Omit<ResolvedFusionOptions, 'kernel' | 'clock'>;
  timed: boolean;
}

/** What a thread posts: that it is ready, a layer's result, bad input (a NaN), a failure, or that it closed. */
export type LayerThreadReply =
  | { type: 'ready' }
  | { type: 'result'; id: number; result: LayerFusionResult }
  | { type: 'issues'; id: number; issues: InputIssue[] }
  | { type: 'error'; id: number; message: string }
  | { type: 'closed' };

/** What the pool posts to a thread besides layers: release what you hold (the last message). */
export const CLOSE_LAYER_THREAD = { type: 'close' } as const;

export interface LayerThreadPoolOptions {
  /** The cores the caller may use (the process's, or a job's share). */
  cores: number;
  fusedLayers: number;
  /** Floats per fused layer (the work of one task). */
  elementsPerLayer: number;
  /** The least work worth a thread (default: libs/core's MIN_LAYER_ELEMENTS_PER_THREAD). */
  minElementsPerThread?: number;
  setup: Omit<LayerThreadSetup, 'kernelThreads'>;
  /** Starts one thread on the application's entry file, whose code calls {@link runLayerThread}. */
  start: (setup: LayerThreadSetup) => Worker;
  /**
   * The KV file that every thread opens itself (`name`: how results and messages call it); absent:
   * each layer is read in the calling thread and sent as data.
   */
  file?: { path: string; name: string | null };
}

interface Pending {
  task: LayerThreadTask;
  resolve: (r: LayerFusionResult) => void;
  reject: (e: Error) => void;
}

/** One thread and what the pool knows of it. */
interface Slot {
  worker: Worker;
  /** Settles when the thread has loaded its code and kernel (or has exited). */
  ready: Promise<void>;
  /** The layer it is fusing, if any. */
  current: Pending | null;
  /** Settles when the layer in hand is answered (or the thread has exited). */
  idle: Promise<void>;
  markIdle: () => void;
  /** Settles when the thread has answered the close message (or has exited). */
  released: Promise<void>;
  exited: boolean;
  exit: Promise<void>;
}

/**
 * A pool of worker threads that fuse one layer each (the layers of a sample are independent),
 * sized by the one thread policy (libs/core planThreads over `cores`: threads x kernel threads <=
 * cores, no thread for less work than `minElementsPerThread`). `threads` is 0 where one thread is
 * all the work pays for: then `hooks()` is empty and the layers run in the calling thread with a
 * kernel given `kernelThreads` (every core).
 *
 * Ending the threads: a thread is never terminated while it may be inside native code. close()
 * lets every layer in hand finish (queued ones are refused), asks each thread to release its
 * kernel (onnxruntime's session) and files in its own thread, and terminates it only once it has
 * answered, idle in its event loop. Worker.terminate() landing inside an onnxruntime-node call
 * aborts the whole process ("terminate called after throwing an instance of 'Napi::Error'").
 */
export class LayerThreadPool implements LayerThreads {
  readonly threads: number;
  readonly kernelThreads: number;
  private readonly slots: Slot[] = [];
  private readonly queue: Pending[] = [];
  private nextId = 0;
  private closing: Promise<void> | null = null;

  constructor(private readonly opts: LayerThreadPoolOptions) {
    const plan = planThreads(opts.cores, opts.fusedLayers, {
      perTask: opts.elementsPerLayer,
      minPerThread: opts.minElementsPerThread ?? MIN_LAYER_ELEMENTS_PER_THREAD,
    });
    this.threads = plan.workers > 1 ? plan.workers : 0;
    this.kernelThreads = plan.kernelThreads;
    const setup: LayerThreadSetup = { ...opts.setup, kernelThreads: plan.kernelThreads };
    for (let i = 0; i < this.threads; i++) this.slots.push(this.startThread(setup));
  }

  hooks(): Pick<AnalyzeHooks, 'fuseLayerAt' | 'concurrency'> {
    if (!this.threads) return {};
    return {
      concurrency: this.threads,
      fuseLayerAt: (layer, o, sample) => {
        const { kernel: _k, clock, ...options } = o;
        return new Promise<LayerFusionResult>((resolve, reject) => {
          if (this.closing) throw new Error(`layer ${layer}: the layer threads are closed`);
          const file = this.opts.file ?? null;
          // Without a file the layer is read (and checked) here: a bad one rejects with the reader's InputError.
          const data = file ? null : { layer: sample.read(), info: sample.info };
          const task: LayerThreadTask = {
            id: this.nextId++,
            layer,
            data,
            file,
            options,
            timed: clock !== null,
          };
          this.queue.push({ task, resolve, reject });
          this.pump();
        });
      },
    };
  }

  /**
   * Ends the threads safely (see the class comment): resolves once every thread has exited. Layers
   * not yet handed to a thread are rejected; one in hand is awaited.
   */
  close(): Promise<void> {
    this.closing ??= (async () => {
      for (const p of this.queue.splice(0))
        p.reject(new Error(`layer ${p.task.layer}: the layer threads were closed before it ran`));
      await Promise.all(this.slots.map((s) => this.stopThread(s)));
    })();
    return this.closing;
  }

  private startThread(setup: LayerThreadSetup): Slot {
    const worker = this.opts.start(setup);
    let markReady!: () => void;
    let markReleased!: () => void;
    let markExit!: () => void;
    const slot: Slot = {
      worker,
      ready: new Promise<void>((r) => (markReady = r)),
      current: null,
      idle: Promise.resolve(),
      markIdle: () => undefined,
      released: new Promise<void>((r) => (markReleased = r)),
      exited: false,
      exit: new Promise<void>((r) => (markExit = r)),
    };
    worker.on('message', (msg: LayerThreadReply) => {
      if (msg.type === 'ready') markReady();
      else if (msg.type === 'closed') markReleased();
      else this.settle(slot, msg);
    });
    worker.on('error', (err) => this.fail(slot, err));
    worker.on('exit', (code) => {
      slot.exited = true;
      this.fail(slot, new Error(`fusion layer thread exited with code ${code}`));
      markReady();
      markReleased();
      markExit();
    });
    return slot;
  }

  private pump(): void {
    if (this.slots.every((s) => s.exited)) {
      for (const q of this.queue.splice(0))
        q.reject(new Error(`layer ${q.task.layer}: every fusion layer thread has exited`));
      return;
    }
    for (const slot of this.slots) {
      if (!this.queue.length) return;
      if (slot.current || slot.exited) continue;
      const p = this.queue.shift()!;
      slot.current = p;
      slot.idle = new Promise<void>((r) => (slot.markIdle = r));
      const d = p.task.data;
      // Arrays that own their buffer move to the thread; views of a larger one are copied.
      const own = d
        ? [d.layer.key, d.layer.value, d.layer.query]
            .filter(
              (a): a is Float32Array =>
                a !== null && a.byteOffset === 0 && a.byteLength === a.buffer.byteLength,
            )
            .map((a) => a.buffer as ArrayBuffer)
        : [];
      slot.worker.postMessage(p.task, [...new Set(own)]);
    }
  }

  private settle(slot: Slot, msg: Exclude<LayerThreadReply, { type: 'ready' | 'closed' }>): void {
    const p = slot.current;
    if (!p || p.task.id !== msg.id) return;
    slot.current = null;
    slot.markIdle();
    if (msg.type === 'issues') p.reject(new InputError(msg.issues));
    else if (msg.type === 'error') p.reject(new Error(`layer ${p.task.layer}: ${msg.message}`));
    else p.resolve(msg.result);
    if (!this.closing) this.pump();
  }

  /** A thread failed or exited: its layer in hand, and every layer still queued, fail with it. */
  private fail(slot: Slot, err: Error): void {
    const p = slot.current;
    slot.current = null;
    slot.markIdle();
    if (p) p.reject(new Error(`layer ${p.task.layer}: ${err.message}`));
    for (const q of this.queue.splice(0)) q.reject(new Error(`layer ${q.task.layer}: ${err.message}`));
  }

  private async stopThread(slot: Slot): Promise<void> {
    await slot.ready;
    await slot.idle;
    if (slot.exited) return;
    slot.worker.postMessage(CLOSE_LAYER_THREAD);
    await slot.released;
    // Idle in its event loop, holding no native session: safe to end from outside.
    await slot.worker.terminate();
    await slot.exit;
  }
}

/**
 * The body of a layer pool's thread (an application's thread entry file calls it): selects its
 * kernel once (by name, with the plan's kernel threads) and says it is ready, fuses each layer it
 * is sent and posts the result back; on the close message it releases its kernel and files and
 * says so, and the pool then ends it.
 */
export function runLayerThread(): void {
  const port = parentPort;
  if (!port) throw new Error('runLayerThread runs in a worker thread');
  const setup = workerData as LayerThreadSetup;
  const post = (m: LayerThreadReply) => port.postMessage(m);
  const kernel: Promise<SimilarityKernel> = selectSimilarityKernel({
    wanted: setup.kernel,
    threads: setup.kernelThreads,
    ...(setup.kernelSource ? { source: setup.kernelSource } : {}),
  }).then((k) => k.kernel);
  let tf: Promise<unknown> | null = null;
  const readers = new Map<string, KvFileReader>();
  const reader = (file: string): KvFileReader => {
    let r = readers.get(file);
    if (!r) {
      r = openKvSample(file);
      readers.set(file, r);
    }
    return r;
  };

  const fuse = async (task: LayerThreadTask): Promise<LayerFusionResult> => {
    const k = await kernel;
    // tfjs only where it is used: the attention probe, or tfjs as the kernel.
    if (task.options.attention || k.name.startsWith('tfjs'))
      tf ??= selectTfBackend({
        wanted: setup.tfBackend,
        ...(setup.tfBackendSource ? { source: setup.tfBackendSource } : {}),
      });
    if (tf) await tf;
    const options: ResolvedFusionOptions = {
      ...task.options,
      kernel: k,
      clock: task.timed ? () => performance.now() : null,
    };
    let layer: KvLayer;
    let info: KvSampleInfo;
    if (task.data) ({ layer, info } = task.data);
    else if (task.file) {
      const r = reader(task.file.path);
      // The reader refuses a layer holding NaN or infinity (bad input naming the tensor).
      layer = r.readLayer(task.layer);
      info = { ...r.info, file: task.file.name };
    } else throw new Error('a layer task names neither data nor a file');
    return k.gramAsync ? await fuseLayerAsync(layer, info, options) : fuseLayer(layer, info, options);
  };

  let busy: Promise<unknown> = Promise.resolve();
  port.on('message', (msg: LayerThreadTask | typeof CLOSE_LAYER_THREAD) => {
    if ('type' in msg) {
      void busy.then(async () => {
        const k = await kernel.catch(() => null);
        k?.dispose();
        for (const r of readers.values()) r.close();
        readers.clear();
        post({ type: 'closed' });
      });
      return;
    }
    busy = fuse(msg).then(
      (result) => post({ type: 'result', id: msg.id, result }),
      (err: unknown) =>
        post(
          err instanceof InputError
            ? { type: 'issues', id: msg.id, issues: err.issues }
            : { type: 'error', id: msg.id, message: err instanceof Error ? err.message : String(err) },
        ),
    );
  });
  // Ready once the kernel is loaded (a kernel that fails to load fails each layer, by name).
  void kernel.then(
    () => post({ type: 'ready' }),
    () => post({ type: 'ready' }),
  );
}
