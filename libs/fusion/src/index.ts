export * from './dtype';
export { writeSafetensorsFile } from './safetensors-entry';
export * from './kv-types';
export {
  KvFileReader,
  fdByteSource,
  openKvSample,
  writeKvSample,
  kvMetadata,
  type WriteKvOptions,
} from './kv-file';
export { nonFiniteIssues } from './kv-check';
export { runProducts, runProductsAsync, type Product, type Products } from './products';
export {
  DEFAULT_SYNTH_OPTIONS,
  SyntheticKvSample,
  synthesizeKvSample,
  validateSynthOptions,
  type SynthOptions,
} from './synth';
export { ropeInverseFrequencies, applyRope } from './rope';
export {
  DEFAULT_FUSION_OPTIONS,
  resolveFusionOptions,
  type FusionOptions,
  type ResolvedFusionOptions,
} from './options';
export {
  runTrees,
  treeSteps,
  type Cluster,
  type ItemStore,
  type MergeNode,
  type MergeRule,
  type NodeCount,
  type PairFinder,
  type TreeRunResult,
  type TreeSpec,
} from './tree';
export { DenseFinder, SketchFinder, type SearchStats, type SimilarityHistogram } from './search';
export { AttentionProbe, type AttentionError, type AttentionOptions, type QuerySource } from './attention';
export {
  fuseLayer,
  fuseLayerAsync,
  planItems,
  type ItemPlan,
  type LayerDistortion,
  type LayerFusionResult,
  type LayerThresholdResult,
  type NodePoint,
} from './fuse-layer';
export {
  analyzeFusion,
  toFuseJson,
  type AnalyzeHooks,
  type LayerThreads,
  type DistortionSummary,
  type FusionAnalysis,
  type FuseJsonDocument,
  type ThresholdSummary,
} from './analyze';
export { matmulAB, matmulABt, transposeRows } from './tf-ops';
export {
  createOrtKernel,
  jsKernel,
  tfjsAsyncKernel,
  tfjsKernel,
  type OrtModules,
  type OrtSyncSession,
  type SimilarityKernel,
} from './kernel';
export {
  KERNEL_CHOICES,
  selectSimilarityKernel,
  type KernelChoice,
  type SelectKernelOptions,
  type SelectedKernel,
} from './kernel-select';
export { oneNodeModel, type OneNodeGraph } from './onnx-graph';
export {
  selectTfBackend,
  TF_BACKEND_CHOICES,
  type SelectTfBackendOptions,
  type SelectedTfBackend,
  type TfBackendChoice,
} from './backend';
export {
  fitRateDistortion,
  fitRateDistortionPoints,
  fitSimilarityLogistic,
  predictSurvivingFraction,
  rdPointsFromAnalysis,
  type CappedPoissonLogisticLayer,
  type HeldOutError,
  type PoissonLogisticLayer,
  type PredictionError,
  type RateDistortionFit,
  type RdPoint,
} from './rate-distortion';
export {
  buildFusionProfile,
  profileFromSample,
  type BuildProfileOptions,
  type SampleProfile,
} from './profile';
export { SubsetKvSource, firstSequences } from './kv-subset';
export {
  CLOSE_LAYER_THREAD,
  LayerThreadPool,
  runLayerThread,
  type LayerThreadPoolOptions,
  type LayerThreadReply,
  type LayerThreadSetup,
  type LayerThreadTask,
} from './layer-threads';
export { stratifiedSample } from './sampling';
export {
  MAX_CHUNK_TOKENS,
  cffChunkTokens,
  measureFusion,
  type MeasureOptions,
  type MeasuredFusion,
} from './measure';
