import { InputError, type InputIssue } from '@kvplan/core';
import { parsePrompts, type PromptRecord } from './prompts';

/** A stored trace's format as libs/sim's detectTraceFormat names it (only kvplan's own carry prompts). */
export type PromptTraceFormat = 'kvplan-csv' | 'kvplan-jsonl' | (string & {});

const PROMPT_KEYS = ['text', 'prompt', 'token_ids'];
const NO_PROMPT = 'neither text nor token_ids is given';

/** Whether a stored trace carries prompts (a `text` or `token_ids` column, DESIGN.md "Trace file"). */
export function traceCarriesPrompts(text: string, format: PromptTraceFormat): boolean {
  if (format === 'kvplan-csv') {
    const header = (/^[^\r\n]*/.exec(text.replace(/^\ufeff/, ''))?.[0] ?? '').toLowerCase();
    return header
      .split(',')
      .map((h) => h.trim().replace(/^"|"$/g, ''))
      .some((h) => h === 'text' || h === 'token_ids');
  }
  if (format === 'kvplan-jsonl') return promptLines(text).length > 0;
  return false;
}

function promptLines(text: string): Array<{ line: number; text: string }> {
  const out: Array<{ line: number; text: string }> = [];
  text.split(/\r?\n/).forEach((line, i) => {
    if (!line.trim()) return;
    try {
      const v = JSON.parse(line) as Record<string, unknown>;
      if (v && typeof v === 'object' && PROMPT_KEYS.some((k) => v[k] !== undefined && v[k] !== null))
        out.push({ line: i + 1, text: line });
    } catch {
      // the upload check already rejected malformed lines
    }
  });
  return out;
}

/**
 * The prompts of a stored trace's rows that have one (rows without text or token_ids are skipped,
 * they are requests without a recorded prompt). Malformed prompt cells are errors that name the
 * line. Each record's `id` is the row's request_id when given, else its index among the prompts.
 */
export function readTracePrompts(text: string, format: PromptTraceFormat): PromptRecord[] {
  if (format === 'kvplan-jsonl') {
    const lines = promptLines(text);
    const records = parsePrompts(lines.map((l) => l.text).join('\n'), 'trace.jsonl');
    // parsePrompts numbers the kept lines 1..n: give back the trace's own line numbers.
    return records.map((r, k) => ({ ...r, where: `trace.jsonl:${lines[k]?.line ?? k + 1}` }));
  }
  if (format !== 'kvplan-csv') return [];
  try {
    return parsePrompts(text, 'trace.csv');
  } catch (err) {
    if (!(err instanceof InputError)) throw err;
    const real = err.issues.filter((i) => i.message !== NO_PROMPT);
    if (real.length) throw new InputError(real);
    // Drop the rows without a prompt (by line number) and read the rest.
    const skip = new Set(err.issues.map((i: InputIssue) => Number(/:(\d+)$/.exec(i.path)?.[1])));
    const kept = text.split('\n').map((line, i) => (skip.has(i + 1) ? '' : line));
    return parsePrompts(kept.join('\n'), 'trace.csv');
  }
}
