import * as fs from 'node:fs';
import * as path from 'node:path';
import { InputError, parseSpecText, resolveSimulationSpec, type ResolvedSpec } from '@kvplan/sim';
import { inputFileIssue } from './paths';

/** A spec file read and parsed (not yet validated): its data and the directory its paths are relative to. */
export interface SpecFile {
  file: string;
  raw: Record<string, unknown>;
  baseDir: string;
}

/** Reads and parses a YAML or JSON spec; every problem (missing, a directory, syntax, alias bomb) is bad input. */
export function readSpecFile(file: string, cwd: string, label = 'SPEC'): SpecFile {
  const issue = inputFileIssue(file, cwd, label);
  if (issue) throw new InputError([issue]);
  const full = path.resolve(cwd, file);
  const raw = parseSpecText(fs.readFileSync(full, 'utf8'), file);
  if (!raw || typeof raw !== 'object' || Array.isArray(raw))
    throw new InputError([{ path: file, message: 'expected a mapping at the top level' }]);
  return { file, raw: raw as Record<string, unknown>, baseDir: path.dirname(full) };
}

/** Resolves a spec file, optionally with its seed or other top-level keys overridden. */
export function resolveSpecFile(spec: SpecFile, over: Record<string, unknown> = {}): ResolvedSpec {
  return resolveSimulationSpec({ ...spec.raw, ...over }, { fileName: spec.file, baseDir: spec.baseDir });
}
