import { InputError } from '@kvplan/core';
import {
  createOrtKernel,
  jsKernel,
  tfjsAsyncKernel,
  tfjsKernel,
  type OrtModules,
  type SimilarityKernel,
} from './kernel';

/**
 * What an application may ask for (KVPLAN_SIMILARITY_KERNEL). `tfjs-async`: tfjs read back
 * asynchronously, for a backend without a synchronous read (webgpu under Node).
 */
export type KernelChoice = 'auto' | 'onnxruntime' | 'tfjs' | 'tfjs-async' | 'js';

export const KERNEL_CHOICES: readonly KernelChoice[] = ['auto', 'onnxruntime', 'tfjs', 'tfjs-async', 'js'];

export interface SelectKernelOptions {
  /** The wanted kernel; empty or undefined: auto. */
  wanted?: string | null;
  /** Name of the setting `wanted` came from, for messages (default KVPLAN_SIMILARITY_KERNEL). */
  source?: string;
  /** onnxruntime's intra-op threads (the application's thread policy). */
  threads: number;
  /** Module loader (tests inject one); default: dynamic import. */
  load?: (moduleName: string) => Promise<unknown>;
}

export interface SelectedKernel {
  kernel: SimilarityKernel;
  /** One line for the log: what runs the similarity products and, when it is the slow one, why. */
  line: string;
  /** Set when auto fell back to a slower kernel: why (the app shows it loudly). */
  fallback: string | null;
}

/**
 * Picks the similarity kernel once, for an application entry point (the CLI, the worker, a
 * bench): never called by the library's own functions. `auto` takes onnxruntime-node's CPU
 * kernel where the optional dependency loads, else tfjs (on the selected tfjs backend), and says
 * so in `fallback`. A forced choice gets exactly that kernel or an error.
 */
export async function selectSimilarityKernel(opts: SelectKernelOptions): Promise<SelectedKernel> {
  const source = opts.source ?? 'KVPLAN_SIMILARITY_KERNEL';
  const wanted = (opts.wanted ?? '').trim().toLowerCase() || 'auto';
  if (!(KERNEL_CHOICES as readonly string[]).includes(wanted)) {
    throw new InputError([
      {
        path: source,
        message: `unknown similarity kernel "${opts.wanted}" (expected one of ${KERNEL_CHOICES.join(', ')})`,
      },
    ]);
  }
  if (wanted === 'tfjs')
    return { kernel: tfjsKernel, line: 'similarity kernel: tfjs (as asked)', fallback: null };
  if (wanted === 'tfjs-async')
    return {
      kernel: tfjsAsyncKernel,
      line: 'similarity kernel: tfjs, read back asynchronously (as asked)',
      fallback: null,
    };
  if (wanted === 'js')
    return { kernel: jsKernel, line: 'similarity kernel: js loops (as asked; slow)', fallback: null };
  const load = opts.load ?? ((name: string) => import(name));
  try {
    const kernel = createOrtKernel(await loadOrt(load), opts.threads);
    return {
      kernel,
      line: `similarity kernel: onnxruntime-node CPU (${opts.threads} thread${opts.threads === 1 ? '' : 's'})`,
      fallback: null,
    };
  } catch (err) {
    const why = reason(err);
    if (wanted === 'onnxruntime')
      throw new Error(`similarity kernel "onnxruntime" (${source}) could not start: ${why}`);
    const fallback = `onnxruntime-node is unavailable (${why}): the similarity products run on tfjs, several times slower; install the optional dependency (npm install) to get the fast kernel`;
    return { kernel: tfjsKernel, line: `similarity kernel: tfjs. WARNING: ${fallback}`, fallback };
  }
}

async function loadOrt(load: (name: string) => Promise<unknown>): Promise<OrtModules> {
  const main = unwrap(await load('onnxruntime-node')) as { Tensor?: OrtModules['Tensor'] };
  const b = unwrap(await load('onnxruntime-node/dist/binding.js')) as Partial<
    Pick<OrtModules, 'binding' | 'initOrt'>
  >;
  if (typeof main.Tensor !== 'function' || !b.binding || typeof b.initOrt !== 'function')
    throw new Error('onnxruntime-node has an unexpected layout (no Tensor or synchronous binding)');
  return { Tensor: main.Tensor, binding: b.binding, initOrt: b.initOrt };
}

/** A CommonJS module imported dynamically comes as { default: module.exports, ... }. */
function unwrap(m: unknown): unknown {
  const x = m as { default?: unknown; Tensor?: unknown; binding?: unknown };
  return x && x.Tensor === undefined && x.binding === undefined && x.default ? x.default : m;
}

function reason(err: unknown): string {
  const msg = err instanceof Error ? err.message : String(err);
  if (/Cannot find (package|module)/.test(msg)) return 'not installed';
  return msg.split('\n')[0].slice(0, 200);
}
