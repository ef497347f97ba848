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
export {
  KERNEL_SIBLINGS,
  MEASURED_KERNEL_CURVES,
  CompiledCurve,
  octaves,
  allReduceCurve,
  interpolate,
  kernelCalibrationFor,
  kernelTime,
  type CalibrationSource,
  type GpuKernelCurves,
  type KernelCalibration,
  type KernelCurve,
} from './kernel-curves';
