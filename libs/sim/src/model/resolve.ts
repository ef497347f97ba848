import * as fs from 'node:fs';
import * as path from 'node:path';
import { IssueCollector } from '@kvplan/core';
import { FILES_NOT_READ, readSpecFile } from '../simulation-spec/files';
import type { ModelArch } from '../types';
import { describe, parseHfConfig } from './hf-config';
import { findModelPreset, listModelPresets } from './presets';

export interface ResolveContext {
  /** Directory that relative paths are resolved against (the spec file's directory). */
  baseDir: string;
  /** Issue path of the value, e.g. `model`. */
  path: string;
  /** False: a string is only a preset name, no file is ever read (default true). */
  files?: boolean;
}

/** True when a string can only be meant as a file path. */
function looksLikePath(s: string): boolean {
  return (
    /\.json$/i.test(s) || s.startsWith('./') || s.startsWith('../') || path.isAbsolute(s) || s.includes('\\')
  );
}

/**
 * Resolves a model given as a preset name (see findModelPreset), a path to a Hugging Face
 * config.json (or to a directory holding one) relative to ctx.baseDir, or the config keys inline.
 * Adds every problem to `issues` and returns null when there was one.
 */
export function resolveModelInto(
  input: unknown,
  ctx: ResolveContext,
  issues: IssueCollector,
): ModelArch | null {
  if (typeof input === 'string') {
    const name = input.trim();
    if (!name) {
      issues.add(
        ctx.path,
        'expected a model preset, a path to a config.json, or config keys inline; got an empty string',
      );
      return null;
    }
    if (!looksLikePath(name)) {
      const preset = findModelPreset(name);
      if (preset) return preset;
    }
    if (ctx.files === false) {
      issues.add(
        ctx.path,
        `not a model preset (${listModelPresets()
          .map((p) => p.id)
          .join(
            ', ',
          )}; case-insensitive, -Instruct/-hf/-chat/Meta- variants accepted); ${FILES_NOT_READ}: give config.json keys inline`,
      );
      return null;
    }
    let file = path.resolve(ctx.baseDir, name);
    if (fs.existsSync(file) && fs.statSync(file).isDirectory()) file = path.join(file, 'config.json');
    if (!fs.existsSync(file)) {
      issues.add(
        ctx.path,
        `"${name}" is neither a model preset (${listModelPresets()
          .map((p) => p.id)
          .join(
            ', ',
          )}; case-insensitive, -Instruct/-hf/-chat/Meta- variants accepted) nor a config.json file (looked for ${path.relative(ctx.baseDir, file) || file})`,
      );
      return null;
    }
    const read = readSpecFile(file);
    if ('problem' in read) {
      issues.add(ctx.path, `${name} ${read.problem}`);
      return null;
    }
    let raw: unknown;
    try {
      raw = JSON.parse(read.data.toString('utf8'));
    } catch (err) {
      issues.add(ctx.path, `cannot read ${name} as JSON: ${(err as Error).message}`);
      return null;
    }
    return parseHfConfig(raw, {
      path: ctx.path,
      issues,
      fallbackId: name,
      source: `config file ${name}`,
      strictKeys: false,
    });
  }
  if (typeof input === 'object' && input !== null && !Array.isArray(input)) {
    return parseHfConfig(input, {
      path: ctx.path,
      issues,
      fallbackId: 'inline',
      source: null,
      strictKeys: true,
    });
  }
  issues.add(
    ctx.path,
    `expected a model preset name, a path to a config.json, or config.json keys inline; got ${describe(input)}`,
  );
  return null;
}

/** Like resolveModelInto, but throws an InputError with every problem. */
export function resolveModel(input: unknown, ctx: ResolveContext): ModelArch {
  const issues = new IssueCollector();
  const model = resolveModelInto(input, ctx, issues);
  issues.throwIfAny();
  return model as ModelArch;
}
