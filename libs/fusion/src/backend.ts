import * as tf from '@tensorflow/tfjs';
import { InputError } from '@kvplan/core';

/** What an application may ask for (KVPLAN_TF_BACKEND). */
export type TfBackendChoice = 'auto' | 'wasm' | 'node' | 'node-gpu' | 'webgpu' | 'cpu';

export const TF_BACKEND_CHOICES: readonly TfBackendChoice[] = [
  'auto',
  'wasm',
  'node',
  'node-gpu',
  'webgpu',
  'cpu',
];

interface Candidate {
  choice: Exclude<TfBackendChoice, 'auto'>;
  module: string | null;
  backend: string;
  /** Runs before the module is loaded (webgpu: the WebGPU globals a browser would have). */
  prepare?: (load: (name: string) => Promise<unknown>) => Promise<void>;
}

/** The WebGPU module's exports used here (`webgpu` on npm: Dawn's Node binding). */
interface DawnModule {
  create(flags: string[]): unknown;
  globals: Record<string, unknown>;
}

/**
 * tfjs-backend-webgpu registers itself only where `navigator.gpu` exists: Node has no such
 * global (Node 20 has no `navigator` at all), so Dawn's binding provides it, with the WebGPU
 * classes (GPUBufferUsage, ...) as globals, as a browser would. Experimental: Dawn needs a Vulkan
 * driver (e.g. NVIDIA's ICD) on the host.
 */
async function prepareWebgpu(load: (name: string) => Promise<unknown>): Promise<void> {
  const g = globalThis as { navigator?: { gpu?: unknown } };
  if (g.navigator?.gpu) return;
  const m = (await load('webgpu')) as DawnModule & { default?: DawnModule };
  const dawn = typeof m.create === 'function' ? m : m.default!;
  Object.assign(globalThis, dawn.globals);
  const gpu = dawn.create([]) as { requestAdapter(): Promise<unknown> };
  // tfjs only logs a failed initialisation and stays on its old backend: ask first, and say why.
  if (!(await gpu.requestAdapter()))
    throw new Error(
      "Dawn found no WebGPU adapter (it needs a Vulkan driver on the host: libvulkan1 and the GPU vendor's ICD, e.g. NVIDIA's)",
    );
  if (g.navigator) Object.defineProperty(g.navigator, 'gpu', { value: gpu, configurable: true });
  else Object.defineProperty(globalThis, 'navigator', { value: { gpu }, configurable: true, writable: true });
}

const CANDIDATES: Record<Exclude<TfBackendChoice, 'auto'>, Candidate> = {
  'node-gpu': { choice: 'node-gpu', module: '@tensorflow/tfjs-node-gpu', backend: 'tensorflow' },
  webgpu: {
    choice: 'webgpu',
    module: '@tensorflow/tfjs-backend-webgpu',
    backend: 'webgpu',
    prepare: prepareWebgpu,
  },
  node: { choice: 'node', module: '@tensorflow/tfjs-node', backend: 'tensorflow' },
  wasm: { choice: 'wasm', module: '@tensorflow/tfjs-backend-wasm', backend: 'wasm' },
  cpu: { choice: 'cpu', module: null, backend: 'cpu' },
};

export interface SelectTfBackendOptions {
  /** The wanted backend (e.g. the value of KVPLAN_TF_BACKEND); empty or undefined: auto. */
  wanted?: string | null;
  /** Name of the setting `wanted` came from, for messages (default KVPLAN_TF_BACKEND). */
  source?: string;
  /** Where the chosen backend is reported (one line; an app passes its stderr logger). */
  log?: (line: string) => void;
  /** Module loader (tests inject one); default: dynamic import. */
  load?: (moduleName: string) => Promise<unknown>;
}

export interface SelectedTfBackend {
  choice: Exclude<TfBackendChoice, 'auto'>;
  /** tf.getBackend() after the switch. */
  backend: string;
  module: string | null;
}

/**
 * Picks the tfjs backend once, for an application entry point (the CLI, the worker): never
 * called by the library's own functions, and nothing runs at import. `auto` tries
 * tfjs-node-gpu, then tfjs-node (both optional dependencies, absent where their native
 * library could not be downloaded), then wasm; `webgpu` (experimental, never automatic) runs tfjs
 * on Dawn's WebGPU binding (`webgpu` and `@tensorflow/tfjs-backend-webgpu`, not installed by
 * default). A forced choice gets exactly that backend or an
 * error. The slow pure-JS `cpu` backend is used only when asked for by name: tfjs falls back
 * to it silently when another backend fails, so the result is checked with tf.getBackend().
 */
export async function selectTfBackend(opts: SelectTfBackendOptions = {}): Promise<SelectedTfBackend> {
  const source = opts.source ?? 'KVPLAN_TF_BACKEND';
  const wanted = (opts.wanted ?? '').trim().toLowerCase() || 'auto';
  if (!(TF_BACKEND_CHOICES as readonly string[]).includes(wanted)) {
    throw new InputError([
      {
        path: source,
        message: `unknown tfjs backend "${opts.wanted}" (expected one of ${TF_BACKEND_CHOICES.join(', ')})`,
      },
    ]);
  }
  const load = opts.load ?? ((name: string) => import(name));
  const log = opts.log ?? (() => undefined);
  const list =
    wanted === 'auto'
      ? [CANDIDATES['node-gpu'], CANDIDATES.node, CANDIDATES.wasm]
      : [CANDIDATES[wanted as Exclude<TfBackendChoice, 'auto'>]];
  const failures: string[] = [];
  for (const c of list) {
    try {
      if (c.prepare) await c.prepare(load);
      if (c.module) await load(c.module);
      const ok = await tf.setBackend(c.backend);
      await tf.ready();
      const got = tf.getBackend();
      if (!ok || got !== c.backend)
        throw new Error(`tfjs reports backend "${got}" after asking for "${c.backend}"`);
      const suffix = c.choice === 'cpu' ? ' (slow pure-JS backend, as asked)' : '';
      log(
        `tfjs backend: ${got}${c.module ? ` (${c.module})` : ''}${suffix}${failures.length ? `; not available: ${failures.join('; ')}` : ''}`,
      );
      return { choice: c.choice, backend: got, module: c.module };
    } catch (err) {
      failures.push(`${c.choice}: ${firstLine(err)}`);
    }
  }
  const hint = `set ${source}=cpu to run on the slow pure-JS cpu backend`;
  if (wanted === 'auto') throw new Error(`no tfjs backend could start (${failures.join('; ')}); ${hint}`);
  throw new Error(
    `tfjs backend "${wanted}" (${source}) could not start: ${failures.join('; ')}${wanted === 'cpu' ? '' : `; ${hint}`}`,
  );
}

function firstLine(err: unknown): string {
  const msg = err instanceof Error ? err.message : String(err);
  if (/Cannot find (package|module)/.test(msg)) return 'not installed';
  return msg.split('\n')[0].slice(0, 200);
}
