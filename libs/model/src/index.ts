export {
  HONOURED_CONFIG_FIELDS,
  IGNORED_CONFIG_FIELDS,
  MODEL_TYPES,
  ROPE_TYPES,
  parseLlamaConfig,
  type LlamaConfig,
  type ModelType,
} from './config';
export {
  SafetensorsFile,
  WEIGHT_DTYPES,
  writeSafetensors,
  type TensorInfo,
  type TensorToWrite,
  type WeightDtype,
} from './safetensors';
export {
  GIB,
  WASM_HEAP_BYTES,
  checkMemory,
  estimateMemory,
  expectedTensors,
  formatBytes,
  loadModel,
  openModelFolder,
  type ExpectedTensor,
  type LoadOptions,
  type MemoryEstimate,
  type ModelFolder,
  type Workload,
} from './weights';
export { KvCache } from './kv-cache';
export {
  LlamaModel,
  type ForwardInput,
  type ForwardOptions,
  type ForwardResult,
  type LayerWeights,
  type ModelWeights,
} from './model';
export { loadTokenizer, type TextTokenizer } from './tokenizer';
export {
  parsePrompts,
  readPromptsFile,
  tokenizePrompts,
  type PromptRecord,
  type TokenizeLimits,
  type TokenizedPrompt,
} from './prompts';
export {
  MemoryKvSample,
  cacheLayers,
  captureKv,
  sampleInfo,
  writeCapturedKv,
  type CaptureOptions,
} from './capture';
export {
  accuracyEntries,
  evaluateFusion,
  modelFusionProfile,
  type AccuracyEntry,
  type EvalFusionOptions,
  type FusionEvalResult,
  type ThresholdAccuracy,
} from './eval-fusion';
export {
  argmax,
  logSoftmax,
  meanEstimate,
  proportionEstimate,
  tokenF1,
  tQuantile975,
  type Estimate,
} from './stats';
export { writeRandomModelFolder, type RandomModelOptions } from './random-model';
export { readTracePrompts, traceCarriesPrompts, type PromptTraceFormat } from './trace-prompts';
export {
  buildWorkloadFusionProfile,
  type BuildHooks,
  type FusionJobDetails,
  type FusionJobResult,
  type FusionJobSettings,
  type FusionSource,
  type SampledRequest,
  type WorkloadFusionJob,
} from './workload-profile';
