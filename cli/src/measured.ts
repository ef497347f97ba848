import * as fs from 'node:fs';
import * as path from 'node:path';
import {
  InputError,
  SCORED_METRICS,
  scoredMetricsOf,
  type InputIssue,
  type MeasuredMetrics,
} from '@kvplan/sim';
import { inputFileIssue, throwIssues } from './paths';

/**
 * Reads a measured run: a vLLM benchmark_serving result JSON (its summary keys, e.g.
 * mean_ttft_ms, p99_ttft_ms; with --save-detailed its per-request `ttfts` and `itls`), or a
 * per-request CSV with `ttft_ms` and `e2e_ms` columns (and `output_tokens` for TPOT).
 */
export function loadMeasured(file: string, cwd: string): MeasuredMetrics {
  throwIssues([inputFileIssue(file, cwd, 'MEASURED')]);
  const full = path.resolve(cwd, file);
  const text = fs.readFileSync(full, 'utf8');
  if (/\.json$/i.test(full)) {
    let doc: Record<string, unknown>;
    try {
      doc = JSON.parse(text);
    } catch (err) {
      throw new InputError([{ path: file, message: `not valid JSON: ${(err as Error).message}` }]);
    }
    const out: MeasuredMetrics = {};
    const bad: InputIssue[] = [];
    for (const m of SCORED_METRICS) {
      const v = doc[m];
      if (v === undefined || v === null) continue;
      if (typeof v !== 'number' || !Number.isFinite(v) || v < 0)
        bad.push({
          path: `${file}: ${m}`,
          message: `expected a finite latency >= 0, got ${JSON.stringify(v)}`,
        });
      else out[m] = v;
    }
    if (bad.length) throw new InputError(bad);
    if (Object.keys(out).length === 0)
      throw new InputError([
        {
          path: file,
          message: `no benchmark_serving metrics found (expected keys such as ${SCORED_METRICS.slice(0, 3).join(', ')})`,
        },
      ]);
    return out;
  }
  const lines = text.replace(/\r/g, '').trim().split('\n');
  const header = lines[0].split(',').map((h) => h.trim());
  const iT = header.indexOf('ttft_ms');
  const iE = header.indexOf('e2e_ms') >= 0 ? header.indexOf('e2e_ms') : header.indexOf('e2el_ms');
  const iO = header.indexOf('output_tokens');
  if (iT < 0 || iE < 0)
    throw new InputError([
      {
        path: `${file}:1`,
        message: `expected columns ttft_ms and e2e_ms (or e2el_ms), found: ${header.join(', ')}`,
      },
    ]);
  const ttft: number[] = [];
  const e2e: number[] = [];
  const tpot: number[] = [];
  const issues: InputIssue[] = [];
  let skipped = 0;
  lines.slice(1).forEach((line, k) => {
    const cells = line.split(',');
    const t = Number(cells[iT]);
    const e = Number(cells[iE]);
    if (cells[iT] === '' || cells[iE] === '') return; // a request without timing (failed) is not scored
    const problem =
      !Number.isFinite(t) || !Number.isFinite(e)
        ? `expected numbers, got "${cells[iT]}", "${cells[iE]}"`
        : t < 0 || e < 0
          ? `expected latencies >= 0, got ${t}, ${e}`
          : e < t
            ? `e2e_ms ${e} is less than ttft_ms ${t}`
            : null;
    if (problem) {
      if (issues.length < 20)
        issues.push({ path: `${file}:${k + 2}`, message: `ttft_ms/e2e_ms: ${problem}` });
      else skipped++;
      return;
    }
    ttft.push(t);
    e2e.push(e);
    const o = iO >= 0 ? Number(cells[iO]) : NaN;
    if (o > 1) tpot.push((e - t) / (o - 1));
  });
  if (skipped) issues.push({ path: file, message: `and ${skipped} more rows like these` });
  if (issues.length) throw new InputError(issues);
  return scoredMetricsOf(ttft, tpot, e2e);
}
