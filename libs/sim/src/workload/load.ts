import * as path from 'node:path';
import { InputError, IssueCollector } from '@kvplan/core';
import type { Workload } from '../types';
import { selectRows } from './builder';
import { generateWorkload, type GeneratorSpec } from './generate';
import { readTraceFile } from './trace';
import { ALL_SPEC_FILE_KINDS, FILES_NOT_READ, type SpecFileKind } from '../simulation-spec/files';
import { validateWorkloadSpec, type TraceWorkloadSpec } from './validate';

export interface LoadWorkloadContext {
  /** Directory that relative paths (trace, empirical) are resolved against: the spec's. */
  baseDir: string;
  /** The run's seed (generators only). */
  seed: number;
  /** Where the section sits in the spec, for messages (normally `workload`). */
  path: string;
  /** The kinds of file the section may name (default: all). */
  files?: readonly SpecFileKind[];
}

/**
 * Validates the spec's `workload` section and materialises it: a trace (`{trace: PATH, startS?,
 * durationS?, timeScale?, maxRequests?}`) or a generator (see GeneratorSpec). Throws one
 * InputError with every issue: spec fields by path (`workload.arrival.rate: expected a positive
 * number or inf, got -3`), trace problems by `file:line`.
 */
export function loadWorkload(spec: unknown, ctx: LoadWorkloadContext): Workload {
  const issues = new IssueCollector();
  const ws = validateWorkloadSpec(spec, ctx.path, issues);
  issues.throwIfAny();
  if (ws && 'trace' in ws) return loadTrace(ws, ctx);
  return generateWorkload(ws as GeneratorSpec, ctx.seed, {
    baseDir: ctx.baseDir,
    path: ctx.path,
    files: (ctx.files ?? ALL_SPEC_FILE_KINDS).includes('empirical'),
  });
}

function loadTrace(ws: TraceWorkloadSpec, ctx: LoadWorkloadContext): Workload {
  if (!(ctx.files ?? ALL_SPEC_FILE_KINDS).includes('trace'))
    throw new InputError([{ path: `${ctx.path}.trace`, message: FILES_NOT_READ }]);
  const w = readTraceFile(path.resolve(ctx.baseDir, ws.trace), { displayName: ws.trace });
  return applyTraceWindow(w, ws, ctx.path);
}

/**
 * Applies a trace spec's window options: keep [startS, startS + durationS) and shift it to 0,
 * scale arrival times by timeScale, keep the first maxRequests. Returns `w` when none is set.
 */
export function applyTraceWindow(
  w: Workload,
  opts: Pick<TraceWorkloadSpec, 'startS' | 'durationS' | 'timeScale' | 'maxRequests'>,
  where = 'workload',
): Workload {
  const { startS, durationS, timeScale, maxRequests } = opts;
  if (startS === undefined && durationS === undefined && timeScale === undefined && maxRequests === undefined)
    return w;
  const t = w.arrivalS;
  const from = startS ?? 0;
  const to = durationS === undefined ? Infinity : from + durationS;
  // Rows are sorted by arrival: the window is one contiguous run.
  let lo = 0;
  while (lo < w.n && t[lo] < from) lo++;
  let hi = lo;
  while (hi < w.n && t[hi] < to) hi++;
  if (maxRequests !== undefined) hi = Math.min(hi, lo + maxRequests);
  if (hi === lo) {
    const span = w.n > 0 ? `${t[0]}..${t[w.n - 1]} s` : 'nothing';
    throw new InputError([
      {
        path: where,
        message: `no request of the trace arrives in [${from}, ${to === Infinity ? 'end' : to}) s (the trace spans ${span})`,
      },
    ]);
  }
  const rows = new Uint32Array(hi - lo);
  for (let i = 0; i < rows.length; i++) rows[i] = lo + i;
  const out = selectRows(w, rows);
  const scale = timeScale ?? 1;
  const shift = startS ?? 0;
  if (shift !== 0 || scale !== 1)
    for (let i = 0; i < out.n; i++) out.arrivalS[i] = (out.arrivalS[i] - shift) * scale;
  return out;
}
