import * as path from 'node:path';
import { validateFusionProfile, type FusionProfile, type IssueCollector } from '@kvplan/core';
import { readSpecFile } from './files';

/** Reads and validates a fusion profile file, `file` relative to baseDir. */
export function loadFusionProfile(
  file: string,
  baseDir: string,
  where: string,
  issues: IssueCollector,
): FusionProfile | null {
  const full = path.resolve(baseDir, file);
  const read = readSpecFile(full);
  if ('problem' in read) {
    issues.add(where, `${file} ${read.problem}`);
    return null;
  }
  let raw: unknown;
  try {
    raw = JSON.parse(read.data.toString('utf8'));
  } catch (err) {
    issues.add(where, `cannot read ${file} as JSON: ${(err as Error).message}`);
    return null;
  }
  return validateFusionProfile(raw, `${where} (${file})`, issues);
}
