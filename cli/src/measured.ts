import * as fs from 'node:fs';
import * as path from 'node:path';
import { InputError, SCORED_METRICS, scoredMetricsOf, type MeasuredMetrics } from '@kvplan/sim';

/**
 * Reads a measured run: a vLLM benchmark_serving result JSON (its summary keys, e.g.
 * mean_ttft_ms, p99_ttft_ms; with --save-detailed its per-request `ttfts` and `itls`), or a
 * per-request CSV with `ttft_ms` and `e2e_ms` columns (and `output_tokens` for TPOT).
 */
export function loadMeasured(file: string, cwd: string): MeasuredMetrics {
  const full = path.resolve(cwd, file);
  if (!fs.existsSync(full)) throw new InputError([{ path: 'MEASURED', message: `no such file: ${file}` }]);
  const text = fs.readFileSync(full, 'utf8');
  if (/\.json$/i.test(full)) {
    let doc: Record<string, unknown>;
    try {
      doc = JSON.parse(text);
    } catch (err) {
      throw new InputError([{ path: file, message: `not valid JSON: ${(err as Error).message}` }]);
    }
    const out: MeasuredMetrics = {};
    for (const m of SCORED_METRICS) if (typeof doc[m] === 'number') out[m] = doc[m] as number;
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
  const issues: Array<{ path: string; message: string }> = [];
  lines.slice(1).forEach((line, k) => {
    const cells = line.split(',');
    const t = Number(cells[iT]);
    const e = Number(cells[iE]);
    if (cells[iT] === '' || cells[iE] === '') return; // a request without timing (failed) is not scored
    if (!Number.isFinite(t) || !Number.isFinite(e)) {
      if (issues.length < 20)
        issues.push({
          path: `${file}:${k + 2}`,
          message: `ttft_ms/e2e_ms: expected numbers, got "${cells[iT]}", "${cells[iE]}"`,
        });
      return;
    }
    ttft.push(t);
    e2e.push(e);
    const o = iO >= 0 ? Number(cells[iO]) : NaN;
    if (o > 1) tpot.push((e - t) / (o - 1));
  });
  if (issues.length) throw new InputError(issues);
  return scoredMetricsOf(ttft, tpot, e2e);
}
