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
  formatGiB,
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
export { writeRandomModelFolder, type RandomModelOptions } from './random-model';
