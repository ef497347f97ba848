import * as fs from 'node:fs';
import * as path from 'node:path';
import type { IssueCollector } from '@kvplan/core';
import { BUILTIN_TIME_MODELS, DEFAULT_TIME_MODEL } from '../time/profiles';
import type { ServingFactor, TimeModelCoefficients } from '../types';
import { checkKeys, isObj, num, show } from '@kvplan/core';
import { FILES_NOT_READ, readSpecFile } from './files';

export const GPU_PROFILE_FORMAT = 'kvplan-gpu-profile/1';

/** A saved calibration (what `kvplan calibrate` writes); further top-level keys are allowed and ignored. */
export interface GpuProfileFile {
  format: typeof GPU_PROFILE_FORMAT;
  gpu: string;
  coefficients: TimeModelCoefficients;
}

/** The numeric coefficient names, taken from the default model so this follows the type. */
function coefficientKeys(): string[] {
  return Object.keys(DEFAULT_TIME_MODEL).filter((k) => k !== 'name' && k !== 'servingFactors');
}

/** Optional `servingFactors`: GPU id -> { factor > 0, runs: integer >= 1 }. */
function validateServingFactors(
  raw: unknown,
  where: string,
  issues: IssueCollector,
): Record<string, ServingFactor> | undefined {
  if (!isObj(raw)) {
    issues.add(where, `expected an object of GPU id -> { factor, runs }, got ${show(raw)}`);
    return undefined;
  }
  const out: Record<string, ServingFactor> = {};
  for (const [gpu, v] of Object.entries(raw)) {
    const at = `${where}.${gpu}`;
    if (!isObj(v)) {
      issues.add(at, `expected { factor, runs }, got ${show(v)}`);
      continue;
    }
    checkKeys(v, ['factor', 'runs'], at, issues);
    const factor = num(v.factor, `${at}.factor`, issues, { min: 0, above: true });
    const runs = num(v.runs, `${at}.runs`, issues, { min: 1, integer: true });
    if (factor !== undefined && runs !== undefined) out[gpu] = { factor, runs };
  }
  return out;
}

/**
 * Validates TimeModelCoefficients: every numeric coefficient present, finite and >= 0 (the
 * efficiencies > 0), no unknown key; `name` optional (defaults to `fallbackName`).
 */
export function validateCoefficients(
  raw: unknown,
  where: string,
  issues: IssueCollector,
  fallbackName: string,
): TimeModelCoefficients | null {
  if (!isObj(raw)) {
    issues.add(where, `expected an object of time-model coefficients, got ${show(raw)}`);
    return null;
  }
  const before = issues.issues.length;
  const keys = coefficientKeys();
  checkKeys(raw, ['name', ...keys, 'servingFactors'], where, issues);
  if (raw.name !== undefined && typeof raw.name !== 'string')
    issues.add(`${where}.name`, `expected a string, got ${show(raw.name)}`);
  const out: Record<string, number | string> = {
    name: typeof raw.name === 'string' ? raw.name : fallbackName,
  };
  for (const k of keys) {
    const v = num(raw[k], `${where}.${k}`, issues, { min: 0, above: /efficiency/i.test(k) });
    if (v !== undefined) out[k] = v;
  }
  const factors =
    raw.servingFactors === undefined
      ? undefined
      : validateServingFactors(raw.servingFactors, `${where}.servingFactors`, issues);
  if (issues.issues.length > before) return null;
  const c = out as unknown as TimeModelCoefficients;
  return factors ? { ...c, servingFactors: factors } : c;
}

/**
 * The spec's `calibration`: absent -> DEFAULT_TIME_MODEL; a name in BUILTIN_TIME_MODELS (surrounding
 * blanks ignored); a kvplan-gpu-profile/1 object inline; or, when `files` is true (the default),
 * a path (relative to baseDir) to a kvplan-gpu-profile/1 JSON file.
 */
export function resolveTimeModelInto(
  value: unknown,
  baseDir: string,
  where: string,
  issues: IssueCollector,
  files = true,
): TimeModelCoefficients | null {
  if (value === undefined || value === null) return DEFAULT_TIME_MODEL;
  const builtins = Object.keys(BUILTIN_TIME_MODELS);
  if (isObj(value)) return validateGpuProfile(value, where, issues, 'inline');
  if (typeof value !== 'string' || value.trim() === '') {
    issues.add(
      where,
      `expected a built-in profile name (${builtins.join(', ')}), a ${GPU_PROFILE_FORMAT} object or a path to one, got ${show(value)}`,
    );
    return null;
  }
  const name = value.trim();
  if (Object.prototype.hasOwnProperty.call(BUILTIN_TIME_MODELS, name)) return BUILTIN_TIME_MODELS[name];
  if (!files) {
    issues.add(
      where,
      `not a built-in profile (${builtins.join(', ')}); ${FILES_NOT_READ}: give the ${GPU_PROFILE_FORMAT} object inline`,
    );
    return null;
  }
  const full = path.resolve(baseDir, value);
  if (!fs.existsSync(full)) {
    issues.add(
      where,
      `${JSON.stringify(value)} is neither a built-in profile (${builtins.join(', ')}) nor an existing file`,
    );
    return null;
  }
  const read = readSpecFile(full);
  if ('problem' in read) {
    issues.add(where, `${value} ${read.problem}`);
    return null;
  }
  let raw: unknown;
  try {
    raw = JSON.parse(read.data.toString('utf8'));
  } catch (err) {
    issues.add(where, `cannot read ${value} as JSON: ${(err as Error).message}`);
    return null;
  }
  return validateGpuProfile(raw, `${where} (${value})`, issues, path.basename(value, '.json'));
}

/**
 * Checks a parsed kvplan-gpu-profile/1 document and returns its coefficients (named
 * `fallbackName` unless they carry a name). Other top-level keys (fit statistics, provenance)
 * are the writer's business and ignored; the coefficients themselves are checked strictly.
 */
export function validateGpuProfile(
  raw: unknown,
  where: string,
  issues: IssueCollector,
  fallbackName: string,
): TimeModelCoefficients | null {
  if (!isObj(raw)) {
    issues.add(where, `expected a ${GPU_PROFILE_FORMAT} object, got ${show(raw)}`);
    return null;
  }
  if (raw.format !== GPU_PROFILE_FORMAT)
    issues.add(`${where}.format`, `expected "${GPU_PROFILE_FORMAT}", got ${show(raw.format)}`);
  if (typeof raw.gpu !== 'string')
    issues.add(`${where}.gpu`, `expected the GPU the profile was fitted on, got ${show(raw.gpu)}`);
  return validateCoefficients(raw.coefficients, `${where}.coefficients`, issues, fallbackName);
}
