import * as YAML from 'yaml';
import { InputError } from '@kvplan/core';
import type { ResolvedSpec } from '../types';
import { resolveSimulationSpec, type SpecOptions } from './spec';

// Apart from spec.ts so that what only needs the spec's tables (`kvplan gpus`) does not load yaml.

/** Largest number of YAML alias expansions a spec may use (a guard against alias bombs). */
export const MAX_YAML_ALIASES = 1000;

/**
 * Parses the text of a YAML or JSON spec into plain data: syntax errors as InputError issues
 * naming `file:line`, and an alias bomb (more than MAX_YAML_ALIASES expansions) as bad input too.
 */
export function parseSpecText(text: string, fileName: string): unknown {
  const doc = YAML.parseDocument(text);
  if (doc.errors.length > 0) {
    throw new InputError(
      doc.errors.map((e) => ({
        path: e.linePos ? `${fileName}:${e.linePos[0].line}` : fileName,
        message: `not valid YAML/JSON: ${e.message.split('\n')[0].replace(/ at line \d+, column \d+:?$/, '')}`,
      })),
    );
  }
  try {
    return doc.toJS({ maxAliasCount: MAX_YAML_ALIASES });
  } catch (err) {
    throw new InputError([
      { path: fileName, message: `not accepted: ${(err as Error).message} (limit ${MAX_YAML_ALIASES})` },
    ]);
  }
}

/** Parses a YAML or JSON simulation spec and resolves it (see resolveSimulationSpec). */
export function parseSimulationSpec(text: string, opts: SpecOptions & { fileName: string }): ResolvedSpec {
  return resolveSimulationSpec(parseSpecText(text, opts.fileName), opts);
}
