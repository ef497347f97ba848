export {
  ENGINE_KEYS,
  FUSION_KEYS,
  MAX_BLOCK_SIZE,
  MOE_KEYS,
  ROUTERS,
  SPEC_KEYS,
  defaultEngineLimits,
  resolveSimulationSpec,
  sharesMoe,
  tensorParallelProblem,
  type SpecOptions,
} from './spec';
export { MAX_YAML_ALIASES, parseSimulationSpec, parseSpecText } from './parse';
export { FUSION_PROFILE_FORMAT, validateFusionProfile } from '@kvplan/core';
export { loadFusionProfile } from './fusion-profile';
export {
  GPU_PROFILE_FORMAT,
  resolveTimeModelInto,
  validateGpuProfile,
  validateCoefficients,
  type GpuProfileFile,
} from './calibration';
export { SPEC_FIELDS, specKeysUnder, specReferenceMarkdown, type SpecField } from './reference';
export { ALL_SPEC_FILE_KINDS, FILES_NOT_READ, type SpecFileKind } from './files';
