/** The committed kernel measurements (libs/sim/data/kernels/<gpu>/, see SOURCE.md there), read and checked. */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { IssueCollector } from '@kvplan/core';
import {
  InputError,
  KERNEL_FILE_NAMES,
  MOE_FILE_COLUMNS,
  readKernelCsv,
  type KernelClass,
} from '@kvplan/sim';

/** Measured GPU (folder) -> the kvplan preset it is. */
export const MEASURED_PRESETS: Record<string, string> = {
  h100_sxm: 'h100-sxm',
  a100_sxm: 'a100-80gb',
  h200_sxm: 'h200',
  l40s: 'l40s',
  b200_sxm: 'b200',
  rtx_pro_6000_server: 'rtx-pro-6000',
};

export const ROOT = path.resolve(__dirname, '../..');
export const KERNEL_DATA_DIR = path.join(ROOT, 'libs/sim/data/kernels');

/**
 * Every measurement file of one GPU folder, checked: an InputError names each missing file,
 * missing column and bad cell (paths relative to the repository).
 */
export function loadKernelRows(gpuDir: string): Record<KernelClass, Array<Record<string, number>>> {
  const out = {} as Record<KernelClass, Array<Record<string, number>>>;
  const errors: InputError[] = [];
  for (const [cls, name] of Object.entries(KERNEL_FILE_NAMES) as Array<[KernelClass, string]>) {
    const file = path.join(gpuDir, name);
    const shown = path.relative(ROOT, file);
    try {
      if (!fs.existsSync(file)) throw new InputError([{ path: shown, message: 'missing file' }]);
      out[cls] = readKernelCsv(fs.readFileSync(file, 'utf8'), cls, shown);
    } catch (err) {
      if (err instanceof InputError) errors.push(err);
      else throw err;
    }
  }
  if (errors.length > 0) throw new InputError(errors.flatMap((e) => e.issues));
  return out;
}

/** moe.csv rows, every bad cell an issue naming the file and line. */
export function readMoeCsv(file: string): Array<Record<string, number>> {
  const issues = new IssueCollector();
  const lines = fs.readFileSync(file, 'utf8').trim().split('\n');
  const header = lines[0].split(',');
  const shown = path.relative(ROOT, file);
  const missing = MOE_FILE_COLUMNS.filter((c) => !header.includes(c));
  if (missing.length) issues.add(shown, `missing columns ${missing.join(', ')}`);
  const rows = lines.slice(1).map((l, i) => {
    const cells = l.split(',');
    const rec: Record<string, number> = {};
    for (const c of MOE_FILE_COLUMNS) {
      const v = Number(cells[header.indexOf(c)]);
      if (!Number.isFinite(v) || v < 0) issues.add(`${shown}:${i + 2}`, `${c}: expected a number >= 0`);
      rec[c] = v;
    }
    return rec;
  });
  issues.throwIfAny();
  return rows;
}
