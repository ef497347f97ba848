import * as fs from 'node:fs';
import * as path from 'node:path';
import { InputError, IssueCollector } from '@kvplan/core';
import type { TextTokenizer } from './tokenizer';

/** One prompt as read from a file: text, or token ids, or both (ids win). */
export interface PromptRecord {
  id: string;
  /** `file:line` for messages. */
  where: string;
  text: string | null;
  tokenIds: number[] | null;
  tenant: string | null;
}

/** A prompt as token ids, ready for the decoder. */
export interface TokenizedPrompt {
  id: string;
  where: string;
  tokens: number[];
  tenant: string | null;
}

/**
 * Reads prompts from a file. Formats by extension:
 * - `.jsonl` / `.ndjson`: one JSON value a line: a string (the text), or an object with `text`
 *   (or `prompt`) and/or `token_ids`, optional `tenant` and `request_id` (or `id`);
 * - `.json`: an array of such values;
 * - `.csv`: a header naming `text` and/or `token_ids` (a JSON array or space-separated ids),
 *   optional `tenant`, `request_id`; other columns (a kvplan trace's) are ignored;
 * - anything else: plain text, one prompt a non-empty line.
 * Every bad line is reported at once (InputError with `file:line` paths).
 */
export function readPromptsFile(file: string, label = path.basename(file)): PromptRecord[] {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    throw new InputError([
      {
        path: label,
        message: `cannot read the prompts file (${(err as NodeJS.ErrnoException).code ?? err})`,
      },
    ]);
  }
  return parsePrompts(text, label);
}

/** parseTrace-style: picks the format from `label`'s extension. */
export function parsePrompts(text: string, label: string): PromptRecord[] {
  const c = new IssueCollector();
  const out: PromptRecord[] = [];
  const lower = label.toLowerCase();
  if (lower.endsWith('.jsonl') || lower.endsWith('.ndjson')) {
    text.split(/\r?\n/).forEach((line, i) => {
      if (!line.trim()) return;
      const where = `${label}:${i + 1}`;
      let v: unknown;
      try {
        v = JSON.parse(line);
      } catch (err) {
        c.add(where, `not valid JSON (${(err as Error).message})`);
        return;
      }
      const r = fromValue(v, where, out.length, c);
      if (r) out.push(r);
    });
  } else if (lower.endsWith('.json')) {
    let v: unknown;
    try {
      v = JSON.parse(text);
    } catch (err) {
      throw new InputError([{ path: label, message: `not valid JSON (${(err as Error).message})` }]);
    }
    if (!Array.isArray(v))
      throw new InputError([{ path: label, message: 'expected a JSON array of prompts' }]);
    v.forEach((x, i) => {
      const r = fromValue(x, `${label}[${i}]`, out.length, c);
      if (r) out.push(r);
    });
  } else if (lower.endsWith('.csv')) {
    const rows = parseCsv(text);
    if (rows.length === 0)
      throw new InputError([{ path: label, message: 'empty file (expected a header line)' }]);
    const header = rows[0].cells.map((h) => h.trim().toLowerCase());
    const col = (n: string): number => header.indexOf(n);
    const [cText, cIds, cTenant, cId] = [col('text'), col('token_ids'), col('tenant'), col('request_id')];
    if (cText < 0 && cIds < 0)
      throw new InputError([
        { path: `${label}:1`, message: 'the header names neither a text nor a token_ids column' },
      ]);
    for (const row of rows.slice(1)) {
      if (row.cells.length === 1 && row.cells[0] === '') continue;
      const where = `${label}:${row.line}`;
      const get = (k: number): string | null =>
        k >= 0 && row.cells[k] !== undefined && row.cells[k] !== '' ? row.cells[k] : null;
      let tokenIds: number[] | null = null;
      const idsRaw = get(cIds);
      if (idsRaw !== null) {
        tokenIds = parseIds(idsRaw);
        if (!tokenIds) {
          c.add(
            `${where}:token_ids`,
            `expected a JSON array or space-separated token ids, got ${JSON.stringify(idsRaw.slice(0, 40))}`,
          );
          continue;
        }
      }
      const t = get(cText);
      if (t === null && tokenIds === null) {
        c.add(where, 'neither text nor token_ids is given');
        continue;
      }
      out.push({ id: get(cId) ?? String(out.length), where, text: t, tokenIds, tenant: get(cTenant) });
    }
  } else {
    text.split(/\r?\n/).forEach((line, i) => {
      if (!line.trim()) return;
      out.push({
        id: String(out.length),
        where: `${label}:${i + 1}`,
        text: line,
        tokenIds: null,
        tenant: null,
      });
    });
  }
  c.throwIfAny();
  if (out.length === 0) throw new InputError([{ path: label, message: 'no prompts in the file' }]);
  return out;
}

function fromValue(v: unknown, where: string, index: number, c: IssueCollector): PromptRecord | null {
  if (typeof v === 'string') return { id: String(index), where, text: v, tokenIds: null, tenant: null };
  if (!v || typeof v !== 'object' || Array.isArray(v)) {
    c.add(where, 'expected a string or an object with text or token_ids');
    return null;
  }
  const o = v as Record<string, unknown>;
  let ok = true;
  const t = o.text ?? o.prompt;
  if (t !== undefined && typeof t !== 'string') {
    c.add(`${where}:text`, `expected a string, got ${typeof t}`);
    ok = false;
  }
  let tokenIds: number[] | null = null;
  if (o.token_ids !== undefined) {
    if (!Array.isArray(o.token_ids) || !o.token_ids.every((x) => Number.isInteger(x) && (x as number) >= 0)) {
      c.add(`${where}:token_ids`, 'expected an array of token ids (integers >= 0)');
      ok = false;
    } else tokenIds = o.token_ids as number[];
  }
  if (t === undefined && o.token_ids === undefined) {
    c.add(where, 'neither text nor token_ids is given');
    ok = false;
  }
  const tenant = o.tenant;
  if (tenant !== undefined && tenant !== null && typeof tenant !== 'string') {
    c.add(`${where}:tenant`, 'expected a string');
    ok = false;
  }
  const id = o.request_id ?? o.id;
  if (!ok) return null;
  return {
    id: id === undefined || id === null ? String(index) : String(id),
    where,
    text: typeof t === 'string' ? t : null,
    tokenIds,
    tenant: typeof tenant === 'string' ? tenant : null,
  };
}

function parseIds(raw: string): number[] | null {
  const s = raw.trim();
  let parts: unknown[];
  if (s.startsWith('[')) {
    try {
      const v: unknown = JSON.parse(s);
      if (!Array.isArray(v)) return null;
      parts = v;
    } catch {
      return null;
    }
  } else
    parts = s
      .split(/[\s,]+/)
      .filter(Boolean)
      .map(Number);
  return parts.every((x) => Number.isInteger(x) && (x as number) >= 0) && parts.length > 0
    ? (parts as number[])
    : null;
}

/** RFC 4180 records (quoted cells may hold commas, quotes and newlines), with their first line number. */
function parseCsv(text: string): Array<{ line: number; cells: string[] }> {
  const rows: Array<{ line: number; cells: string[] }> = [];
  let cells: string[] = [];
  let cell = '';
  let quoted = false;
  let line = 1;
  let start = 1;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    if (quoted) {
      if (ch === '"') {
        if (text[i + 1] === '"') {
          cell += '"';
          i++;
        } else quoted = false;
      } else {
        if (ch === '\n') line++;
        cell += ch;
      }
      continue;
    }
    if (ch === '"' && cell === '') quoted = true;
    else if (ch === ',') {
      cells.push(cell);
      cell = '';
    } else if (ch === '\n' || ch === '\r') {
      if (ch === '\r' && text[i + 1] === '\n') i++;
      cells.push(cell);
      rows.push({ line: start, cells });
      cells = [];
      cell = '';
      line++;
      start = line;
    } else cell += ch;
  }
  if (cell !== '' || cells.length) {
    cells.push(cell);
    rows.push({ line: start, cells });
  }
  return rows;
}

export interface TokenizeLimits {
  vocabSize: number;
  /** Longest sequence the model accepts (config contextLength). */
  contextLength: number;
  /** Shortest prompt accepted, with the reason (e.g. a continuation split off its end). */
  minTokens?: { tokens: number; why: string };
}

/**
 * Turns prompt records into token ids (the tokenizer for text; ids as given otherwise) and checks
 * them against the model: ids inside the vocabulary, length within the context. Every offending
 * prompt is reported at once.
 */
export function tokenizePrompts(
  records: PromptRecord[],
  tokenizer: TextTokenizer | null,
  limits: TokenizeLimits,
): TokenizedPrompt[] {
  const c = new IssueCollector();
  const out: TokenizedPrompt[] = [];
  const outOfVocab: Array<{ where: string; ids: number[] }> = [];
  let outOfVocabAt = 0;
  for (const r of records) {
    let tokens: number[];
    if (r.tokenIds) tokens = r.tokenIds;
    else if (tokenizer) tokens = tokenizer.encode(r.text ?? '');
    else {
      c.add(r.where, 'text prompt, but the model folder has no tokenizer.json (give token_ids instead)');
      continue;
    }
    const bad = tokens.filter((t) => !(t >= 0 && t < limits.vocabSize));
    if (bad.length) {
      if (outOfVocab.length === 0) outOfVocabAt = c.issues.length;
      outOfVocab.push({ where: r.where, ids: bad });
      continue;
    }
    if (tokens.length === 0) {
      c.add(r.where, 'the prompt has no tokens');
      continue;
    }
    if (limits.minTokens && tokens.length < limits.minTokens.tokens) {
      c.add(
        r.where,
        `${tokens.length} tokens; at least ${limits.minTokens.tokens} are needed (${limits.minTokens.why})`,
      );
      continue;
    }
    if (tokens.length > limits.contextLength) {
      c.add(
        r.where,
        `${tokens.length} tokens is longer than the model's context of ${limits.contextLength} tokens`,
      );
      continue;
    }
    out.push({ id: r.id, where: r.where, tokens, tenant: r.tenant });
  }
  const oov = outOfVocabIssue(outOfVocab, limits.vocabSize);
  if (oov) c.issues.splice(outOfVocabAt, 0, oov);
  c.throwIfAny();
  return out;
}

/** Prompts listed beside each other in the out-of-vocabulary issue before the rest are counted. */
const MAX_LISTED_PROMPTS = 20;

/** Every prompt with token ids outside the vocabulary, in one issue (one prompt: its own line). */
function outOfVocabIssue(
  found: Array<{ where: string; ids: number[] }>,
  vocabSize: number,
): { path: string; message: string } | null {
  if (found.length === 0) return null;
  const ids = (f: { ids: number[] }) => f.ids.slice(0, 3).join(', ') + (f.ids.length > 3 ? ', ...' : '');
  if (found.length === 1)
    return {
      path: found[0].where,
      message: `token ids ${ids(found[0])} are outside the vocabulary (vocab_size ${vocabSize})`,
    };
  const file = found[0].where.replace(/:\d+$/, '');
  const listed = found
    .slice(0, MAX_LISTED_PROMPTS)
    .map(
      (f) =>
        `${f.where.startsWith(file + ':') ? 'line ' + f.where.slice(file.length + 1) : f.where} (${ids(f)})`,
    );
  const more = found.length > MAX_LISTED_PROMPTS ? `, and ${found.length - MAX_LISTED_PROMPTS} more` : '';
  return {
    path: file,
    message: `${found.length} prompts have token ids outside the vocabulary (vocab_size ${vocabSize}): ${listed.join('; ')}${more}`,
  };
}
