export {
  DEFAULT_FABRIC,
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
  decodeAttentionCurve,
  interpolate,
  kernelCalibrationFor,
  kernelTime,
  requireKernelData,
  type CalibrationSource,
  type GpuKernelCurves,
  type KernelCalibration,
  type KernelCurve,
} from './kernel-curves';
export {
  DEFAULT_NETWORK,
  FABRICS,
  FABRIC_IDS,
  TOPOLOGY_KEYS,
  defaultTopology,
  groupPlacement,
  parseFabric,
  resolveTopologyInto,
  topologyGpus,
  type FabricInfo,
  type Topology,
} from './topology';
export { Collectives, topologyCollectiveTime, type CollectiveKind } from './collectives';
export { PCIE_DMA_EFFICIENCY, hostLinksFor, pipelinePlacement, transferTime, type HostLinks } from './host';
export {
  CompiledMoeCurve,
  MEASURED_MOE_CURVES,
  MOE_FILE_COLUMNS,
  MOE_HELD_OUT_ERRORS,
  moeCurveFor,
  moeRouteBytes,
  type MoeCurve,
  type MoeCurveFile,
} from './moe-curves';
export {
  fitMoeCurve,
  moeCurveError,
  moeHoldoutShape,
  moeRelErrors,
  moeSamples,
  moeShapeKey,
  type MoeSample,
} from '../calibration/moe-fit';
