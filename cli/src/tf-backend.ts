import { planThreads } from '@kvplan/core';
import {
  selectSimilarityKernel,
  selectTfBackend,
  type SelectedKernel,
  type SelectedTfBackend,
} from '@kvplan/fusion';
import type { CliIo } from './io';
import { processCores } from './threads';

let chosen: Promise<SelectedTfBackend> | null = null;
let kernel: Promise<SelectedKernel> | null = null;

/**
 * Picks the tfjs backend once per process, before the first tensor command runs:
 * KVPLAN_TF_BACKEND (auto | wasm | node | node-gpu | cpu) forces one; auto takes tfjs-node-gpu
 * or tfjs-node when they load, else wasm; `cpu` only when asked for. The choice is logged to
 * stderr (stdout stays clean for --json).
 */
export function ensureTfBackend(io: CliIo): Promise<SelectedTfBackend> {
  if (!chosen) {
    chosen = selectTfBackend({
      wanted: process.env.KVPLAN_TF_BACKEND,
      source: 'KVPLAN_TF_BACKEND',
      log: (line) => io.stderr(`kvplan: ${line}\n`),
    }).catch((err: unknown) => {
      chosen = null;
      throw err;
    });
  }
  return chosen;
}

/**
 * Picks the similarity kernel once per process (KVPLAN_SIMILARITY_KERNEL: auto | onnxruntime |
 * tfjs | js; auto takes onnxruntime-node where the optional dependency loads) for work run in
 * this thread, with all the process's cores as its threads, and says on stderr which one runs,
 * loudly when it is the slower fallback.
 */
export function ensureKernel(io: CliIo): Promise<SelectedKernel> {
  if (!kernel) {
    kernel = selectSimilarityKernel({
      wanted: process.env.KVPLAN_SIMILARITY_KERNEL,
      threads: planThreads(processCores(), 1).kernelThreads,
    })
      .then((k) => {
        io.stderr(`kvplan: ${k.line}\n`);
        return k;
      })
      .catch((err: unknown) => {
        kernel = null;
        throw err;
      });
  }
  return kernel;
}
