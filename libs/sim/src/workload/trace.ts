import * as zlib from 'node:zlib';
import { InputError } from '@kvplan/core';
import { MAX_SPEC_FILE_BYTES, readSpecFile } from '../simulation-spec/files';
import type { Workload } from '../types';
import { WorkloadBuilder } from './builder';
import { forEachCsvRecord } from './csv';
import { FileIssues, MISSING, readInt, readNonNegative, showValue } from './issues';

/**
 * Trace formats the readers understand.
 * - `kvplan-csv` / `kvplan-jsonl`: kvplan's own (DESIGN.md "Trace file").
 * - `azure-csv`: the Azure LLM inference trace (`TIMESTAMP,ContextTokens,GeneratedTokens`).
 * - `mooncake-jsonl`: Mooncake's trace (`timestamp` in ms, `input_length`, `output_length`,
 *   `hash_ids`).
 */
export type TraceFormat = 'kvplan-csv' | 'kvplan-jsonl' | 'azure-csv' | 'mooncake-jsonl';

/** Tokens per Mooncake hash id: each hash id names one 512-token block of the prompt. */
export const MOONCAKE_BLOCK_TOKENS = 512;

/** Columns of kvplan's trace format. */
const KVPLAN_COLUMNS = [
  'arrival_time_s',
  'input_tokens',
  'output_tokens',
  'request_id',
  'tenant',
  'prefix_group',
  'prefix_tokens',
  'stage',
  'text',
  'token_ids',
] as const;
const REQUIRED = ['arrival_time_s', 'input_tokens', 'output_tokens'] as const;
// Indices into KVPLAN_COLUMNS.
const C_ARRIVAL = 0;
const C_INPUT = 1;
const C_OUTPUT = 2;
const C_ID = 3;
const C_TENANT = 4;
const C_GROUP = 5;
const C_PREFIX = 6;
const C_STAGE = 7;

const OUTPUT_MIN_NOTE = ' (vLLM generates at least one token)';
const INPUT_MIN_NOTE = ' (a prompt needs at least one token)';

/**
 * Reads a trace file (see parseTrace for formats and rules). Files ending in `.gz` are
 * decompressed first. Error paths name `displayName` (default: `file` as given), with line
 * numbers.
 */
export function readTraceFile(file: string, opts: { displayName?: string } = {}): Workload {
  const display = opts.displayName ?? file;
  const read = readSpecFile(file);
  if ('problem' in read) throw new InputError([{ path: display, message: `the trace file ${read.problem}` }]);
  let buf = read.data;
  let name = file;
  if (/\.gz$/i.test(file)) {
    try {
      buf = zlib.gunzipSync(buf, { maxOutputLength: MAX_SPEC_FILE_BYTES });
    } catch (err) {
      const e = err as NodeJS.ErrnoException;
      throw new InputError([
        {
          path: display,
          message:
            e.code === 'ERR_BUFFER_TOO_LARGE'
              ? `the trace file decompresses to more than the ${MAX_SPEC_FILE_BYTES} bytes a spec file may hold`
              : `not a valid gzip file (${e.message})`,
        },
      ]);
    }
    name = file.slice(0, -3);
  }
  return parseTraceAs(buf.toString('utf8'), name, display);
}

/**
 * Parses a trace held in memory. `fileName` picks the format by extension (`.csv`: CSV;
 * `.jsonl`, `.ndjson`, `.json`: JSON Lines; anything else: sniffed from the first character)
 * and names the file in error messages. Within CSV, a header with `TIMESTAMP` and
 * `ContextTokens` means the Azure trace; within JSON Lines, a first record with `input_length`
 * or `hash_ids` means Mooncake.
 *
 * Rules common to every format:
 * - Rows whose arrival times are out of order are sorted by arrival, stably (rows with equal
 *   arrival keep their order in the file).
 * - Prompt and output lengths are integers >= 1 (vLLM rejects an empty prompt and always
 *   generates at least one token); a bad cell is reported as `file:line` (1-based, the header
 *   being line 1) with the column and the value. Up to 20 problems are listed, then "and N more".
 * - A trace with no requests is an error.
 * - Arrival times: kvplan traces keep `arrival_time_s` as written. Azure and Mooncake traces are
 *   shifted so the earliest request arrives at 0.
 */
export function parseTrace(text: string, fileName: string): Workload {
  return parseTraceAs(text, fileName, fileName);
}

/** Which format `parseTrace` would read `text` as. */
export function detectTraceFormat(text: string, fileName: string): TraceFormat {
  const lower = fileName.toLowerCase();
  let family: 'csv' | 'jsonl';
  if (lower.endsWith('.csv')) family = 'csv';
  else if (lower.endsWith('.jsonl') || lower.endsWith('.ndjson') || lower.endsWith('.json')) family = 'jsonl';
  else family = firstNonSpace(text) === '{' ? 'jsonl' : 'csv';
  if (family === 'csv') {
    const header = firstLine(text).toLowerCase();
    const names = header.split(',').map((s) => s.trim().replace(/^"|"$/g, ''));
    return names.includes('timestamp') && names.includes('contexttokens') ? 'azure-csv' : 'kvplan-csv';
  }
  const line = firstLine(text).trim();
  try {
    const obj = JSON.parse(line) as unknown;
    if (obj && typeof obj === 'object' && ('input_length' in obj || 'hash_ids' in obj))
      return 'mooncake-jsonl';
  } catch {
    // Reported by the reader with its line number.
  }
  return 'kvplan-jsonl';
}

function parseTraceAs(text: string, fileName: string, display: string): Workload {
  const format = detectTraceFormat(text, fileName);
  const issues = new FileIssues(display);
  let w: Workload | null;
  switch (format) {
    case 'kvplan-csv':
      w = readKvplanCsv(text, issues);
      break;
    case 'azure-csv':
      w = readAzureCsv(text, issues);
      break;
    case 'kvplan-jsonl':
      w = readKvplanJsonl(text, issues);
      break;
    case 'mooncake-jsonl':
      w = readMooncakeJsonl(text, issues);
      break;
  }
  issues.throwIfAny();
  if (!w || w.n === 0) throw new InputError([{ path: display, message: 'the trace holds no requests' }]);
  return w;
}

function firstNonSpace(text: string): string {
  const m = /[^\s\ufeff]/.exec(text);
  return m ? m[0] : '';
}

function firstLine(text: string): string {
  let s = text.charCodeAt(0) === 0xfeff ? 1 : 0;
  // Skip leading blank lines.
  while (s < text.length && (text[s] === '\n' || text[s] === '\r')) s++;
  const m = /[\r\n]/.exec(text.slice(s, s + 65536));
  return m ? text.slice(s, s + m.index) : text.slice(s, s + 65536);
}

// ---------------------------------------------------------------------------------------------
// kvplan format (CSV and JSON Lines share the row logic)

/**
 * Reads one kvplan row (`row[k]`: the cell of KVPLAN_COLUMNS[k], undefined when absent) into the
 * builder, or reports its problems. Returns false when the row was rejected.
 */
function addKvplanRow(b: WorkloadBuilder, row: unknown[], line: number, issues: FileIssues): boolean {
  const before = issues.count;

  const a = readNonNegative(row[C_ARRIVAL]);
  if (a === MISSING) cellIssue(issues, line, C_ARRIVAL, 'is empty (a required column)');
  else if (typeof a === 'string') cellIssue(issues, line, C_ARRIVAL, a);

  const inp = readInt(row[C_INPUT], 1);
  if (inp === MISSING) cellIssue(issues, line, C_INPUT, 'is empty (a required column)');
  else if (typeof inp === 'string') cellIssue(issues, line, C_INPUT, withNote(inp, INPUT_MIN_NOTE));

  const out = readInt(row[C_OUTPUT], 1);
  if (out === MISSING) cellIssue(issues, line, C_OUTPUT, 'is empty (a required column)');
  else if (typeof out === 'string') cellIssue(issues, line, C_OUTPUT, withNote(out, OUTPUT_MIN_NOTE));

  let groupId = -1;
  let prefix = 0;
  if (row[C_GROUP] !== undefined || row[C_PREFIX] !== undefined) {
    const group = readName(row[C_GROUP]);
    if (isErr(group)) cellIssue(issues, line, C_GROUP, group.error);
    const p = readInt(row[C_PREFIX], 0);
    if (typeof p === 'string') cellIssue(issues, line, C_PREFIX, p);
    else if (p !== MISSING) {
      prefix = p;
      if (group === null && p > 0)
        cellIssue(issues, line, C_PREFIX, `is ${p} but the row has no prefix_group`);
      if (typeof inp === 'number' && p > inp)
        cellIssue(issues, line, C_PREFIX, `is ${p}, more than input_tokens (${inp})`);
    } else if (typeof group === 'string') {
      cellIssue(
        issues,
        line,
        C_PREFIX,
        `is empty but prefix_group is ${showValue(group)} (give the shared prefix length)`,
      );
    }
    if (typeof group === 'string' && issues.count === before) groupId = b.prefixGroups.id(group);
  }

  let stage = -1;
  if (row[C_STAGE] !== undefined) {
    const s = readInt(row[C_STAGE], 0);
    if (typeof s === 'string') cellIssue(issues, line, C_STAGE, s);
    else if (s !== MISSING) stage = s;
  }

  let tenantId = -1;
  if (row[C_TENANT] !== undefined) {
    const tenant = readName(row[C_TENANT]);
    if (isErr(tenant)) cellIssue(issues, line, C_TENANT, tenant.error);
    else if (tenant !== null && issues.count === before) tenantId = b.tenants.id(tenant);
  }
  let id: string | undefined;
  if (row[C_ID] !== undefined) {
    const r = readName(row[C_ID]);
    if (isErr(r)) cellIssue(issues, line, C_ID, r.error);
    else if (r !== null) id = r;
  }

  if (issues.count !== before) return false;
  b.push(a as number, inp as number, out as number, groupId, prefix, tenantId, stage, id);
  return true;
}

function cellIssue(issues: FileIssues, line: number, col: number, msg: string): void {
  issues.add(line, `column ${KVPLAN_COLUMNS[col]}: ${msg}`);
}

/** Adds the reason for the minimum of 1 to a "must be at least 1" message. */
function withNote(msg: string, note: string): string {
  return msg.startsWith('must be at least 1,') ? msg + note : msg;
}

function isErr(v: string | null | { error: string }): v is { error: string } {
  return v !== null && typeof v === 'object';
}

/** A name cell: string, number (stringified) or empty (null). */
function readName(v: unknown): string | null | { error: string } {
  if (v === undefined || v === null || v === '') return null;
  if (typeof v === 'string') return v;
  if (typeof v === 'number' && Number.isFinite(v)) return String(v);
  return { error: `expected a string, got ${showValue(v)}` };
}

function readKvplanCsv(text: string, issues: FileIssues): Workload | null {
  let colIdx: number[] | null = null;
  let headerLen = 0;
  let headerOk = true;
  let b: WorkloadBuilder | null = null;
  const row: unknown[] = new Array(KVPLAN_COLUMNS.length).fill(undefined);
  forEachCsvRecord(
    text,
    (fields, count, line) => {
      if (!colIdx) {
        const names = fields.slice(0, count).map((s) => s.trim().toLowerCase());
        headerLen = count;
        colIdx = KVPLAN_COLUMNS.map((c) => names.indexOf(c));
        const missing = REQUIRED.filter((_, k) => colIdx![k] < 0);
        if (missing.length > 0) {
          headerOk = false;
          for (const m of missing) {
            issues.add(
              line,
              `missing required column "${m}" (the header is: ${fields.slice(0, count).join(',')}; ` +
                `kvplan traces need ${REQUIRED.join(', ')})`,
            );
          }
        }
        names.forEach((nm, k) => {
          if (nm !== '' && names.indexOf(nm) !== k) {
            headerOk = false;
            issues.add(line, `column "${nm}" appears twice in the header`);
          }
        });
        if (colIdx[C_PREFIX] >= 0 !== colIdx[C_GROUP] >= 0) {
          headerOk = false;
          issues.add(line, 'columns prefix_group and prefix_tokens go together: give both or neither');
        }
        if (!headerOk) return false;
        b = new WorkloadBuilder({
          capacity: Math.min(1 << 20, Math.max(1024, text.length >> 5)),
          requestIds: colIdx[C_ID] >= 0,
          stage: colIdx[C_STAGE] >= 0,
        });
        return;
      }
      if (count !== headerLen) {
        issues.add(line, `expected ${headerLen} fields as in the header, got ${count}`);
        return;
      }
      const idx = colIdx as number[];
      for (let k = 0; k <= C_STAGE; k++) row[k] = idx[k] >= 0 ? fields[idx[k]] : undefined;
      addKvplanRow(b as WorkloadBuilder, row, line, issues);
    },
    (p) => issues.add(p.line, p.message),
  );
  return b ? (b as WorkloadBuilder).build() : null;
}

/** Splits JSON Lines, calling `onObject(obj, line)` for each non-blank line that is an object. */
function forEachJsonLine(
  text: string,
  issues: FileIssues,
  onObject: (obj: Record<string, unknown>, line: number) => boolean | void,
): void {
  const len = text.length;
  let i = len > 0 && text.charCodeAt(0) === 0xfeff ? 1 : 0;
  let line = 0;
  while (i < len) {
    let j = text.indexOf('\n', i);
    if (j < 0) j = len;
    line++;
    const raw = text.slice(i, j);
    i = j + 1;
    const s = raw.trim();
    if (s === '') continue;
    let obj: unknown;
    try {
      obj = JSON.parse(s);
    } catch (err) {
      issues.add(line, `not valid JSON (${(err as Error).message})`);
      continue;
    }
    if (obj === null || typeof obj !== 'object' || Array.isArray(obj)) {
      issues.add(line, `expected a JSON object, got ${showValue(obj)}`);
      continue;
    }
    if (onObject(obj as Record<string, unknown>, line) === false) return;
  }
}

function readKvplanJsonl(text: string, issues: FileIssues): Workload | null {
  let b: WorkloadBuilder | null = null;
  const row: unknown[] = new Array(KVPLAN_COLUMNS.length).fill(undefined);
  forEachJsonLine(text, issues, (obj, line) => {
    if (!b) {
      const keys = Object.keys(obj);
      const missing = REQUIRED.filter((k) => !(k in obj));
      if (missing.length > 0) {
        for (const m of missing) {
          issues.add(
            line,
            `missing required key "${m}" (keys found: ${keys.join(', ')}; kvplan traces need ${REQUIRED.join(', ')})`,
          );
        }
        return false;
      }
      b = new WorkloadBuilder({
        capacity: Math.min(1 << 20, Math.max(1024, text.length >> 6)),
        requestIds: 'request_id' in obj,
        stage: 'stage' in obj,
      });
    }
    for (let k = 0; k <= C_STAGE; k++) row[k] = obj[KVPLAN_COLUMNS[k]];
    // Keys may first appear on a later line: add those columns then.
    if (row[C_ID] !== undefined) b.enableRequestIds();
    if (row[C_STAGE] !== undefined) b.enableStage();
    addKvplanRow(b, row, line, issues);
  });
  return b ? (b as WorkloadBuilder).build() : null;
}

// ---------------------------------------------------------------------------------------------
// Azure LLM inference trace

/**
 * Reads `TIMESTAMP,ContextTokens,GeneratedTokens`. Timestamps (`2023-11-16 18:15:46.6805900`,
 * any number of fractional digits, optional `T` separator and `Z`/`+hh:mm` suffix) are parsed by
 * hand into whole seconds and a fraction, so the 100 ns resolution survives: arrival = (whole
 * seconds - earliest whole seconds) + (fraction - earliest fraction).
 */
function readAzureCsv(text: string, issues: FileIssues): Workload | null {
  let ci = -1;
  let cc = -1;
  let cg = -1;
  let headerLen = 0;
  let b: WorkloadBuilder | null = null;
  let secs = new Float64Array(1024);
  let fracs = new Float64Array(1024);
  forEachCsvRecord(
    text,
    (fields, count, line) => {
      if (!b) {
        const names = fields.slice(0, count).map((s) => s.trim().toLowerCase());
        headerLen = count;
        ci = names.indexOf('timestamp');
        cc = names.indexOf('contexttokens');
        cg = names.indexOf('generatedtokens');
        const missing = [
          ['TIMESTAMP', ci],
          ['ContextTokens', cc],
          ['GeneratedTokens', cg],
        ].filter(([, k]) => (k as number) < 0);
        for (const [m] of missing) {
          issues.add(
            line,
            `missing required column "${m}" (the header is: ${fields.slice(0, count).join(',')}; ` +
              'an Azure LLM trace has TIMESTAMP,ContextTokens,GeneratedTokens)',
          );
        }
        if (missing.length > 0) return false;
        b = new WorkloadBuilder({ capacity: Math.min(1 << 20, Math.max(1024, text.length >> 5)) });
        return;
      }
      if (count !== headerLen) {
        issues.add(line, `expected ${headerLen} fields as in the header, got ${count}`);
        return;
      }
      const before = issues.count;
      const ts = parseTimestamp(fields[ci]);
      if (!ts) {
        issues.add(
          line,
          `column TIMESTAMP: expected a date and time like 2023-11-16 18:15:46.6805900, got ${showValue(fields[ci])}`,
        );
      }
      const inp = readInt(fields[cc], 1);
      if (inp === MISSING) issues.add(line, 'column ContextTokens: is empty (a required column)');
      else if (typeof inp === 'string')
        issues.add(line, `column ContextTokens: ${withNote(inp, INPUT_MIN_NOTE)}`);
      const out = readInt(fields[cg], 1);
      if (out === MISSING) issues.add(line, 'column GeneratedTokens: is empty (a required column)');
      else if (typeof out === 'string')
        issues.add(line, `column GeneratedTokens: ${withNote(out, OUTPUT_MIN_NOTE)}`);
      if (issues.count !== before || !ts) return;
      const bb = b as WorkloadBuilder;
      const row = bb.push(0, inp as number, out as number);
      if (row >= secs.length) {
        const s2 = new Float64Array(secs.length * 2);
        s2.set(secs);
        secs = s2;
        const f2 = new Float64Array(fracs.length * 2);
        f2.set(fracs);
        fracs = f2;
      }
      secs[row] = ts.sec;
      fracs[row] = ts.frac;
    },
    (p) => issues.add(p.line, p.message),
  );
  if (!b) return null;
  const bb = b as WorkloadBuilder;
  if (bb.n === 0) return bb.build();
  let s0 = secs[0];
  let f0 = fracs[0];
  for (let r = 1; r < bb.n; r++) {
    if (secs[r] < s0 || (secs[r] === s0 && fracs[r] < f0)) {
      s0 = secs[r];
      f0 = fracs[r];
    }
  }
  for (let r = 0; r < bb.n; r++) bb.arrivalS[r] = secs[r] - s0 + (fracs[r] - f0);
  return bb.build();
}

/**
 * Parses `YYYY-MM-DD[ T]hh:mm:ss[.f...][Z|+hh:mm|-hh:mm|+hhmm]` into whole seconds since
 * 1970-01-01 (UTC when a zone is given, else the zone-less wall clock) and a fraction in [0, 1).
 */
export function parseTimestamp(s: string | undefined): { sec: number; frac: number } | null {
  if (s === undefined) return null;
  const fast = parseTimestampFast(s);
  if (fast) return fast;
  const m =
    /^\s*(\d{4})-(\d{2})-(\d{2})[ T](\d{2}):(\d{2}):(\d{2})(?:\.(\d+))?\s*(Z|[+-]\d{2}:?\d{2})?\s*$/.exec(s);
  if (!m) return null;
  const year = +m[1];
  const month = +m[2];
  const day = +m[3];
  const h = +m[4];
  const mi = +m[5];
  const se = +m[6];
  if (month < 1 || month > 12 || day < 1 || day > daysInMonth(year, month) || h > 23 || mi > 59 || se > 60)
    return null;
  let sec = daysFromCivil(year, month, day) * 86400 + h * 3600 + mi * 60 + se;
  const frac = m[7] ? Number(m[7]) / 10 ** m[7].length : 0;
  const zone = m[8];
  if (zone && zone !== 'Z') {
    const sign = zone[0] === '-' ? -1 : 1;
    const digits = zone.slice(1).replace(':', '');
    sec -= sign * (+digits.slice(0, 2) * 3600 + +digits.slice(2) * 60);
  }
  return { sec, frac };
}

let cachedDate = '';
let cachedDays = 0;

/**
 * The common case, `YYYY-MM-DD hh:mm:ss[.fffffff]` with nothing around it, read digit by digit
 * (a trace's rows share a date, so its day number is cached). Null sends the caller to the
 * general parser, which also reports what is wrong.
 */
function parseTimestampFast(s: string): { sec: number; frac: number } | null {
  const n = s.length;
  if (n < 19 || s.charCodeAt(10) !== 32 || s.charCodeAt(13) !== 58 || s.charCodeAt(16) !== 58) return null;
  if (n > 19 && s.charCodeAt(19) !== 46) return null;
  const h = twoDigits(s, 11);
  const mi = twoDigits(s, 14);
  const se = twoDigits(s, 17);
  if (h < 0 || mi < 0 || se < 0 || h > 23 || mi > 59 || se > 60) return null;
  let fracInt = 0;
  let scale = 1;
  for (let k = 20; k < n; k++) {
    const c = s.charCodeAt(k) - 48;
    if (c < 0 || c > 9) return null;
    fracInt = fracInt * 10 + c;
    scale *= 10;
  }
  if (n === 20 || scale > 1e15) return null;
  const date = s.slice(0, 10);
  if (date !== cachedDate) {
    const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(date);
    if (!m) return null;
    const year = +m[1];
    const month = +m[2];
    const day = +m[3];
    if (month < 1 || month > 12 || day < 1 || day > daysInMonth(year, month)) return null;
    cachedDays = daysFromCivil(year, month, day);
    cachedDate = date;
  }
  return { sec: cachedDays * 86400 + h * 3600 + mi * 60 + se, frac: fracInt / scale };
}

function twoDigits(s: string, at: number): number {
  const a = s.charCodeAt(at) - 48;
  const b = s.charCodeAt(at + 1) - 48;
  return a < 0 || a > 9 || b < 0 || b > 9 ? -1 : a * 10 + b;
}

function isLeap(y: number): boolean {
  return (y % 4 === 0 && y % 100 !== 0) || y % 400 === 0;
}

function daysInMonth(y: number, m: number): number {
  return m === 2 ? (isLeap(y) ? 29 : 28) : [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][m - 1];
}

/** Days from 1970-01-01 to the given proleptic Gregorian date. */
function daysFromCivil(y: number, m: number, d: number): number {
  // Count from March so the leap day is the last day of the "year".
  const yy = m <= 2 ? y - 1 : y;
  const era = Math.floor(yy / 400);
  const yoe = yy - era * 400;
  const mp = (m + 9) % 12;
  const doy = Math.floor((153 * mp + 2) / 5) + d - 1;
  const doe = yoe * 365 + Math.floor(yoe / 4) - Math.floor(yoe / 100) + doy;
  return era * 146097 + doe - 719468;
}

// ---------------------------------------------------------------------------------------------
// Mooncake

/**
 * Reads Mooncake JSON Lines: `timestamp` (ms), `input_length`, `output_length`, optional
 * `hash_ids` (one id per 512-token block of the prompt; equal ids mean equal blocks, and a block's
 * id depends on every block before it, so two prompts share exactly their common leading run).
 *
 * kvplan models sharing as prefix groups with one shared length per request, so the hash chains
 * are mapped approximately:
 * - The group of a request is its first hash id (requests whose first blocks differ share
 *   nothing). The group's earliest request (by arrival) is its reference.
 * - A later request's prefixTokens = 512 x (length of its common leading run of hash ids with the
 *   reference), capped at its input_length. The reference's own prefixTokens is the largest of
 *   those over the group, so it shares with each member what that member shares with it.
 * - A group of one request (nothing shared) gets no group (-1) and prefixTokens 0.
 * What is lost: two non-reference requests that share more with each other than with the
 * reference are modelled as sharing only the shorter of their runs with the reference.
 */
function readMooncakeJsonl(text: string, issues: FileIssues): Workload | null {
  const b = new WorkloadBuilder({ capacity: Math.min(1 << 20, Math.max(1024, text.length >> 7)) });
  const hashes: Array<number[] | null> = [];
  let checkedKeys = false;
  forEachJsonLine(text, issues, (obj, line) => {
    if (!checkedKeys) {
      checkedKeys = true;
      const need = ['timestamp', 'input_length', 'output_length'];
      const missing = need.filter((k) => !(k in obj));
      if (missing.length > 0) {
        for (const m of missing) {
          issues.add(
            line,
            `missing required key "${m}" (keys found: ${Object.keys(obj).join(', ')}; ` +
              'a Mooncake trace needs timestamp, input_length, output_length and optionally hash_ids)',
          );
        }
        return false;
      }
    }
    const before = issues.count;
    const t = readNonNegative(obj.timestamp);
    if (t === MISSING) issues.add(line, 'key timestamp: is missing');
    else if (typeof t === 'string') issues.add(line, `key timestamp: ${t}`);
    const inp = readInt(obj.input_length, 1);
    if (inp === MISSING) issues.add(line, 'key input_length: is missing');
    else if (typeof inp === 'string') issues.add(line, `key input_length: ${withNote(inp, INPUT_MIN_NOTE)}`);
    const out = readInt(obj.output_length, 1);
    if (out === MISSING) issues.add(line, 'key output_length: is missing');
    else if (typeof out === 'string')
      issues.add(line, `key output_length: ${withNote(out, OUTPUT_MIN_NOTE)}`);
    const h = obj.hash_ids;
    let ids: number[] | null = null;
    if (h !== undefined && h !== null) {
      if (!Array.isArray(h) || !h.every((x) => typeof x === 'number' && Number.isFinite(x))) {
        issues.add(line, `key hash_ids: expected an array of numbers, got ${showValue(h)}`);
      } else if (h.length > 0) ids = h as number[];
    }
    if (issues.count !== before) return;
    b.push((t as number) / 1000, inp as number, out as number);
    hashes.push(ids);
  });
  if (b.n === 0) return b.build();

  // Earliest timestamp becomes 0.
  let t0 = Infinity;
  for (let r = 0; r < b.n; r++) t0 = Math.min(t0, b.arrivalS[r]);
  for (let r = 0; r < b.n; r++) b.arrivalS[r] -= t0;

  // Walk in arrival order (stable) so each group's reference is its earliest request.
  const order = new Uint32Array(b.n);
  for (let r = 0; r < b.n; r++) order[r] = r;
  const t = b.arrivalS;
  order.sort((x, y) => t[x] - t[y] || x - y);
  const refOf = new Map<number, number>(); // first hash id -> reference row
  const members = new Map<number, number>(); // first hash id -> count
  for (let k = 0; k < b.n; k++) {
    const r = order[k];
    const ids = hashes[r];
    if (!ids) continue;
    const key = ids[0];
    const ref = refOf.get(key);
    if (ref === undefined) {
      refOf.set(key, r);
      members.set(key, 1);
      b.prefixGroup[r] = b.prefixGroups.id(`h${key}`);
      b.prefixTokens[r] = 0;
      continue;
    }
    members.set(key, members.get(key)! + 1);
    const refIds = hashes[ref]!;
    let run = 0;
    const lim = Math.min(refIds.length, ids.length);
    while (run < lim && refIds[run] === ids[run]) run++;
    const shared = Math.min(run * MOONCAKE_BLOCK_TOKENS, b.inputTokens[r], b.inputTokens[ref]);
    b.prefixGroup[r] = b.prefixGroup[ref];
    b.prefixTokens[r] = shared;
    if (shared > b.prefixTokens[ref]) b.prefixTokens[ref] = shared;
  }
  // Groups of one share nothing: drop them and renumber the rest densely.
  const keep = new Map<number, number>();
  const names: string[] = [];
  for (let r = 0; r < b.n; r++) {
    const g = b.prefixGroup[r];
    if (g < 0) continue;
    const key = hashes[r]![0];
    if (members.get(key)! < 2) {
      b.prefixGroup[r] = -1;
      b.prefixTokens[r] = 0;
      continue;
    }
    let ng = keep.get(g);
    if (ng === undefined) {
      ng = names.length;
      names.push(`h${key}`);
      keep.set(g, ng);
    }
    b.prefixGroup[r] = ng;
  }
  const w = b.build();
  w.prefixGroupNames = names;
  return w;
}
