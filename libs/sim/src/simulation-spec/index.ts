export {
  ENGINE_KEYS,
  FUSION_KEYS,
  MAX_BLOCK_SIZE,
  ROUTERS,
  SPEC_KEYS,
  defaultEngineLimits,
  MAX_YAML_ALIASES,
  parseSimulationSpec,
  parseSpecText,
  resolveSimulationSpec,
  tensorParallelProblem,
  type SpecOptions,
} from './spec';
export { FUSION_PROFILE_FORMAT, validateFusionProfile } from '@kvplan/core';
export { loadFusionProfile } from './fusion-profile';
export {
  GPU_PROFILE_FORMAT,
  resolveTimeModelInto,
  validateCoefficients,
  type GpuProfileFile,
} from './calibration';
