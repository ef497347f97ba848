import type { ServingFactor, TimeModelCoefficients } from '../types';
import fitted from './default-profile.json';

/**
 * The default step-time coefficients: fitted by `calibration/fit.ts` on the "fit" half of the
 * measured vLLM runs (H100 SXM Llama-2 7B/70B, RTX 4090 Llama-3.1-8B, RTX PRO 6000 Qwen3-32B);
 * the README's calibration table gives the error on the held-out runs. `frontendOverheadS` is the
 * client-side delay of an HTTP benchmark client (those runs timed TTFT at the client). A user's
 * own `kvplan calibrate` output replaces these per GPU.
 */
export const DEFAULT_TIME_MODEL: TimeModelCoefficients = fitted;

/** A GPU's serving factor under these coefficients, or null where it has none (it runs at 1). */
export function servingFactorFor(c: TimeModelCoefficients, gpuId: string): ServingFactor | null {
  const f = c.servingFactors;
  return f && Object.prototype.hasOwnProperty.call(f, gpuId) ? f[gpuId] : null;
}

/** What a result's `meta.serving_calibrated` says about the GPU's serving factor. */
export function servingCalibrationText(f: ServingFactor | null): string {
  return f
    ? `serving factor ${f.factor.toFixed(3)} fitted on ${f.runs} run${f.runs === 1 ? '' : 's'}`
    : 'no serving factor (1): shared serving costs only';
}

/** Built-in calibration profiles by name (the spec's `calibration` key). */
export const BUILTIN_TIME_MODELS: Record<string, TimeModelCoefficients> = {
  default: DEFAULT_TIME_MODEL,
  [fitted.name]: DEFAULT_TIME_MODEL,
  /** Engine-side timing (no HTTP client in front): the same fit without the front-end delay. */
  'engine-side': { ...DEFAULT_TIME_MODEL, name: 'engine-side', frontendOverheadS: 0 },
};
