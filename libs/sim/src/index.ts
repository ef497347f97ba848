export * from './types';
// The kernel's shared types and the error family, re-exported for the apps that import libs/sim
// (one declaration each, in libs/core).
export {
  InputError,
  IssueCollector,
  nelderMead,
  type FusionProfile,
  type InputIssue,
  type Rng,
} from '@kvplan/core';
export { EventQueue } from './core/event-queue';
export { StepTimeModel, dtypeBytes, emptyStepWork, type StepWork } from './time/step-time';
export {
  DEFAULT_LOAD_IMBALANCE,
  dispatchBytes,
  expertsTouched,
  loadImbalance,
  probMissesRank,
  remoteRanksPerToken,
} from './time/moe';
export {
  DEFAULT_TIME_MODEL,
  BUILTIN_TIME_MODELS,
  servingCalibrationText,
  servingFactorFor,
} from './time/profiles';
export {
  simulate,
  runSimulation,
  type SimulationResult,
  type SimulationRun,
  type SimulateOptions,
} from './engine/simulation';
export { summarize, summarizeWeighted, percentileSorted, type Summary } from './metrics/stats';
export * from './workload';
export * from './model';
export * from './hardware';
export * from './calibration/calibrate';
export * from './calibration/kernel-fit';
export * from './calibration/interval';
export * from './capacity/search';
export * from './capacity/evaluate';
export * from './capacity/answer';
export * from './simulation-spec';
export { FusionModel, parametricFusionProfile } from './engine/fusion';
export * from './projection';
