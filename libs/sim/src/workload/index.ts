/** Workloads: trace readers, generators, the spec's `workload` section, CSV output and stats. */
export {
  readTraceFile,
  parseTrace,
  detectTraceFormat,
  parseTimestamp,
  MOONCAKE_BLOCK_TOKENS,
  type TraceFormat,
} from './trace';
export {
  generateWorkload,
  streamSeed,
  uniformBounds,
  type GeneratorSpec,
  type LengthDist,
  type ArrivalProcess,
  type EmpiricalSource,
} from './generate';
export {
  validateWorkloadSpec,
  validateGenerator,
  validateDist,
  MAX_GENERATED_REQUESTS,
  type WorkloadSpec,
  type TraceWorkloadSpec,
} from './validate';
export { loadWorkload, applyTraceWindow, type LoadWorkloadContext } from './load';
export { workloadToCsv, workloadStats, type WorkloadStats, type LengthStats } from './output';
export { workloadBreakdown, type BreakdownRow, type WorkloadBreakdown } from './breakdown';
export { sortByArrival, selectRows } from './builder';
