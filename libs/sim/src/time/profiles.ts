import type { TimeModelCoefficients } from '../types';

/**
 * The default step-time coefficients. Fitted on part of the measured vLLM runs (see
 * calibration/ and the README's calibration table); a user's own `kvplan calibrate` output
 * replaces them per GPU.
 */
export const DEFAULT_TIME_MODEL: TimeModelCoefficients = {
  name: 'default',
  memEfficiency: 0.8,
  computeEfficiency: 0.6,
  attentionEfficiency: 0.4,
  stepOverheadS: 0.004,
  layerOverheadS: 0.00002,
  requestOverheadS: 0.00002,
  tokenOverheadS: 0,
  allReduceLatencyS: 0.00002,
  frontendOverheadS: 0.003,
};

/** Built-in calibration profiles by name (the spec's `calibration` key). */
export const BUILTIN_TIME_MODELS: Record<string, TimeModelCoefficients> = {
  default: DEFAULT_TIME_MODEL,
};
