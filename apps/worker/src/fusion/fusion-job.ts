/** What the fusion thread is given and gives back (plain data: it crosses a worker-thread boundary). */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { FusionProfileOptions } from '@kvplan/contracts';
import {
  buildWorkloadFusionProfile,
  type BuildHooks,
  type FusionJobResult,
  type FusionJobSettings,
} from '@kvplan/model';
import { detectTraceFormat, resolveSimulationSpec } from '@kvplan/sim';
import type { ThreadMessage } from '../run-in-thread';
import { jobLayerThreads } from './layer-threads';

/**
 * The job's layer threads (BuildHooks.layerThreads): the one thread policy over the job's cores,
 * each thread with the job's kernel and tfjs backend settings.
 */
export function layerThreadsOf(input: FusionJobInput): NonNullable<BuildHooks['layerThreads']> {
  return (fusedLayers, elementsPerLayer) =>
    jobLayerThreads(
      input.cores,
      fusedLayers,
      elementsPerLayer,
      { similarityKernel: input.similarityKernel, tfBackend: input.tfBackend },
      input.minLayerElementsPerThread,
    );
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
  /** KVPLAN_SIMILARITY_KERNEL (auto when null). */
  similarityKernel: string | null;
  /**
   * The cores the job may use (the process's less the simulations it may run at once): its layer
   * threads x their kernel threads, by planThreads as the CLI plans its own.
   */
  cores: number;
  /** The least work worth a layer thread (default: libs/core's MIN_LAYER_ELEMENTS_PER_THREAD). */
  minLayerElementsPerThread?: number;
}

export type FusionThreadMessage = ThreadMessage<{ type: 'result'; output: FusionJobResult }>;

/** The job's wiring: resolve the spec (libs/sim), read the stored files, one library call (libs/model). */
export function runFusionJob(input: FusionJobInput, hooks: BuildHooks): Promise<FusionJobResult> {
  const spec = resolveSimulationSpec(input.spec, { fileName: 'spec', baseDir: input.baseDir });
  const w = spec.workload;
  const text = input.trace ? fs.readFileSync(path.resolve(input.baseDir, input.trace.path), 'utf8') : null;
  return buildWorkloadFusionProfile(
    {
      requests: {
        n: w.n,
        inputTokens: w.inputTokens,
        tenants: Array.from(w.tenant, (t) => (t >= 0 ? w.tenantNames[t] : null)),
        requestIds: w.requestIds ?? null,
      },
      blockSize: spec.engine.blockSize,
      model: spec.model,
      fusion: input.fusion,
      options: input.options,
      trace:
        input.trace && text !== null
          ? { path: input.trace.path, text, format: detectTraceFormat(text, input.trace.path) }
          : null,
      kvSamples: input.kvSamples.map((k) => ({ ...k, file: path.resolve(input.baseDir, k.path) })),
      modelDir: input.modelDir,
    },
    hooks,
  );
}
