export {
  DEFAULT_INTERCONNECT_GBPS,
  findGpuPreset,
  isA100,
  listGpuPresets,
  matchGpuName,
  resolveGpu,
  resolveGpuInto,
  type GpuResolveContext,
} from './gpus';
