import * as fs from 'node:fs';
import * as path from 'node:path';
import { validateFusionProfile, type FusionProfile, type IssueCollector } from '@kvplan/core';

/** Reads and validates a fusion profile file, `file` relative to baseDir. */
export function loadFusionProfile(
  file: string,
  baseDir: string,
  where: string,
  issues: IssueCollector,
): FusionProfile | null {
  const full = path.resolve(baseDir, file);
  let raw: unknown;
  try {
    raw = JSON.parse(fs.readFileSync(full, 'utf8'));
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    issues.add(
      where,
      e.code === 'ENOENT' ? `no such file: ${file}` : `cannot read ${file} as JSON: ${e.message}`,
    );
    return null;
  }
  return validateFusionProfile(raw, `${where} (${file})`, issues);
}
