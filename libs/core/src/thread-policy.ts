/**
 * The one thread policy of the project's processes (the CLI, the worker, the benches): the pool is
 * as large as the cores the process may use, shared by everything it runs at once. The library
 * starts no threads; applications ask this function how to split their cores.
 */
export interface ThreadPlan {
  /** Worker threads to run side by side (each fusing one layer, or running one job); 1: none, work in the calling thread. */
  workers: number;
  /** Native threads each of them may give its kernel (onnxruntime's intra-op threads). */
  kernelThreads: number;
}

export interface ThreadWork {
  /** Cores already taken by other work of the same process (another job's threads). */
  busy?: number;
  /** Size of each task (e.g. a layer's block elements) and the least worth a thread of its own:
   * starting a thread (a fresh module graph, its own kernel) costs about a second, so small work
   * stays in the calling thread. */
  perTask?: number;
  minPerThread?: number;
}

/**
 * `cores`: the process's cores (os.availableParallelism()); `tasks`: independent pieces of work
 * ready to run (layers, jobs). Never more threads than free cores:
 * workers x kernelThreads <= max(1, cores - busy).
 */
export function planThreads(cores: number, tasks: number, work: ThreadWork = {}): ThreadPlan {
  const free = Math.max(1, Math.floor(cores) - Math.max(0, Math.floor(work.busy ?? 0)));
  let workers = Math.max(1, Math.min(free, Math.floor(tasks)));
  if (work.perTask !== undefined && work.minPerThread !== undefined && work.perTask > 0)
    workers = Math.max(1, Math.min(workers, Math.floor((work.perTask * tasks) / work.minPerThread)));
  return { workers, kernelThreads: Math.max(1, Math.floor(free / workers)) };
}

/**
 * The least work (key elements of the layers it fuses) that pays for a fusion layer thread of its
 * own (`minPerThread` for planThreads): a thread costs about a second to start (its module graph,
 * its kernel), a layer of 1,024 blocks of 16,384 elements about half a second to fuse. The CLI's
 * layer threads and the worker's fusion jobs both plan with it.
 */
export const MIN_LAYER_ELEMENTS_PER_THREAD = 48 * 2 ** 20;
