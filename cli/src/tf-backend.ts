import { selectTfBackend, type SelectedTfBackend } from '@kvplan/fusion';
import type { CliIo } from './io';

let chosen: Promise<SelectedTfBackend> | null = null;

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
