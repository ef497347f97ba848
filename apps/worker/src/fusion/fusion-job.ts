/** What the fusion thread is given and gives back (plain data: it crosses a worker-thread boundary). */
import type { FusionProfileOptions } from '@kvplan/contracts';
import type { ThreadMessage } from '../run-in-thread';

export interface FusionJobSettings {
  mode: 'bff' | 'cff';
  thresholds: number[];
  /** BFF: batch sizes to measure at (default: one batch of the whole sample). */
  batchSizes?: number[];
  /** CFF window, in chunks (default 4). */
  window?: number;
  /** From the fusion config; absent: `tenant` when the workload names tenants, else `global`. */
  scope?: 'global' | 'tenant';
}

export interface FusionJobInput {
  /** The deployment's simulation spec fields with the workload (a stored trace by its relative path). */
  spec: Record<string, unknown>;
  /** Storage root: relative paths (trace, KV samples) resolve against it. */
  baseDir: string;
  fusion: FusionJobSettings;
  options: FusionProfileOptions;
  /** The stored trace the workload replays, or null for a generator workload. */
  trace: { id: string; path: string } | null;
  /** KV samples tied to the workload profile, newest first. */
  kvSamples: Array<{ id: string; name: string; path: string }>;
  /** The worker's model folder (KVPLAN_MODEL_DIR), or null. */
  modelDir: string | null;
  /** KVPLAN_TF_BACKEND (auto when null). */
  tfBackend: string | null;
}

export type FusionSource = 'synthetic' | 'kv-sample' | 'model';

export interface FusionJobOutput {
  source: FusionSource;
  /** kvplan-fusion-profile/1. */
  profile: Record<string, unknown>;
  /** What was done and why (stored beside the profile). */
  details: Record<string, unknown>;
}

export type FusionThreadMessage = ThreadMessage<{ type: 'result'; output: FusionJobOutput }>;
