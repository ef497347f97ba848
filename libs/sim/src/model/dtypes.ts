import type { Dtype, EngineConfig } from '../types';

/** Bytes per element of each weight dtype (int4 packs two values per byte; group scales are not counted). */
export const DTYPE_BYTES: Record<Dtype, number> = {
  float32: 4,
  bfloat16: 2,
  float16: 2,
  fp8: 1,
  int8: 1,
  int4: 0.5,
};

/** Spellings accepted for a weight dtype (config.json `torch_dtype`, the spec's `weightDtype`). */
const DTYPE_ALIASES: Record<string, Dtype> = {
  float32: 'float32',
  fp32: 'float32',
  float: 'float32',
  bfloat16: 'bfloat16',
  bf16: 'bfloat16',
  float16: 'float16',
  fp16: 'float16',
  half: 'float16',
  fp8: 'fp8',
  float8: 'fp8',
  fp8_e4m3: 'fp8',
  float8_e4m3fn: 'fp8',
  int8: 'int8',
  w8a8: 'int8',
  int4: 'int4',
  w4a16: 'int4',
};

/** Normalises a dtype spelling (case-insensitive, `torch.` prefix allowed); null when unknown. */
export function parseDtype(value: string): Dtype | null {
  const key = value
    .trim()
    .toLowerCase()
    .replace(/^torch\./, '');
  return DTYPE_ALIASES[key] ?? null;
}

export const DTYPE_SPELLINGS = Object.keys(DTYPE_ALIASES);

export type KvCacheDtype = EngineConfig['kvCacheDtype'];

const KV_DTYPE_ALIASES: Record<string, KvCacheDtype> = {
  auto: 'auto',
  fp8: 'fp8',
  fp8_e4m3: 'fp8',
  fp8_e5m2: 'fp8',
  bfloat16: 'bfloat16',
  bf16: 'bfloat16',
  float16: 'float16',
  fp16: 'float16',
  half: 'float16',
  float32: 'float32',
  fp32: 'float32',
};

export const KV_DTYPE_SPELLINGS = Object.keys(KV_DTYPE_ALIASES);

/** Normalises a KV-cache dtype spelling (vLLM's `--kv-cache-dtype` values and kvplan's); null when unknown. */
export function parseKvCacheDtype(value: string): KvCacheDtype | null {
  return KV_DTYPE_ALIASES[value.trim().toLowerCase()] ?? null;
}

/** True for the dtypes that are weight-only or weight+activation quantisation (not a float format the model runs in). */
export function isQuantized(d: Dtype): boolean {
  return d === 'fp8' || d === 'int8' || d === 'int4';
}

/**
 * The width in bytes of the dtype activations (and so an `auto` KV cache) run in: the checkpoint's
 * float width; a quantised checkpoint still computes in 16-bit.
 */
export function activationBytes(checkpoint: Dtype): number {
  return isQuantized(checkpoint) ? 2 : DTYPE_BYTES[checkpoint];
}

/** Bytes per KV element: `auto` follows the checkpoint dtype; fp8 is one byte. */
export function kvElementBytes(kvCacheDtype: KvCacheDtype, checkpoint: Dtype): number {
  switch (kvCacheDtype) {
    case 'auto':
      return activationBytes(checkpoint);
    case 'fp8':
      return 1;
    case 'bfloat16':
    case 'float16':
      return 2;
    case 'float32':
      return 4;
  }
}
