export {
  DTYPE_BYTES,
  activationBytes,
  isQuantized,
  kvElementBytes,
  parseDtype,
  parseKvCacheDtype,
  type KvCacheDtype,
} from './dtypes';
export { HF_IGNORED_KEYS, HF_MODEL_KEYS, parseHfConfig } from './hf-config';
export { findModelPreset, listModelPresets, modelMatchKey } from './presets';
export { resolveModel, resolveModelInto, type ResolveContext } from './resolve';
export {
  kvBytesPerToken,
  kvBytesPerTokenPerGpu,
  kvHeadsPerGpu,
  parameterCounts,
  weightBytes,
  type ParameterCounts,
} from './size';
export {
  GiB,
  OVERHEAD_BASE_GIB,
  OVERHEAD_FRACTION,
  OVERHEAD_TP_GIB,
  SAMPLER_LOGIT_COPIES,
  cpuKvBlocks,
  gpusPerReplica,
  deriveKvCapacity,
  estimateActivationBytes,
  estimateOverheadBytes,
  type KvBreakdown,
  type KvCapacity,
  type KvCapacityInput,
} from './memory';
