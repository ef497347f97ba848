import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as zlib from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { InputError } from '@kvplan/core';
import { detectTraceFormat, parseTimestamp, parseTrace, readTraceFile } from '../src/workload';
import type { Workload } from '../src/types';

const FIX = path.join(__dirname, 'fixtures', 'workload');

/** The InputError thrown by `fn`, as "path: message" lines. */
function issuesOf(fn: () => unknown): string[] {
  try {
    fn();
  } catch (err) {
    if (err instanceof InputError) return err.issues.map((i) => `${i.path}: ${i.message}`);
    throw err;
  }
  throw new Error('expected an InputError, none was thrown');
}

function names(w: Workload, col: 'tenant' | 'prefixGroup'): Array<string | null> {
  const table = col === 'tenant' ? w.tenantNames : w.prefixGroupNames;
  return Array.from(w[col], (g) => (g >= 0 ? table[g] : null));
}

describe('kvplan CSV', () => {
  it('reads every column, quoted fields with commas, doubled quotes and newlines, CRLF, and sorts by arrival', () => {
    const w = readTraceFile(path.join(FIX, 'kvplan.csv'));
    expect(w.n).toBe(4);
    // r3 (0.25 s) is out of order in the file and moves before r2.
    expect(w.requestIds).toEqual(['r1', 'r3', 'r2', 'r,4']);
    expect(Array.from(w.arrivalS)).toEqual([0, 0.25, 0.5, 1.5]);
    expect(Array.from(w.inputTokens)).toEqual([100, 50, 200, 80]);
    expect(Array.from(w.outputTokens)).toEqual([20, 5, 30, 1]);
    expect(names(w, 'tenant')).toEqual(['acme', null, 'globex', 'acme']);
    expect(names(w, 'prefixGroup')).toEqual(['sys-a', null, 'sys-a', 'sys-b']);
    expect(Array.from(w.prefixTokens)).toEqual([64, 0, 64, 80]);
    expect(Array.from(w.stage!)).toEqual([0, 1, 0, 1]);
  });

  it('needs only the three required columns and then has no optional columns', () => {
    const w = parseTrace('input_tokens,arrival_time_s,output_tokens\n5,0.5,2\n7,0,3\n', 'mini.csv');
    expect(Array.from(w.arrivalS)).toEqual([0, 0.5]);
    expect(Array.from(w.inputTokens)).toEqual([7, 5]);
    expect(w.requestIds).toBeUndefined();
    expect(w.stage).toBeUndefined();
    expect(Array.from(w.prefixGroup)).toEqual([-1, -1]);
    expect(w.tenantNames).toEqual([]);
  });

  it('keeps rows with equal arrival in file order (stable sort)', () => {
    const text =
      'arrival_time_s,input_tokens,output_tokens,request_id\n1,1,1,a\n0,1,1,b\n1,1,1,c\n0,1,1,d\n1,1,1,e\n';
    expect(parseTrace(text, 't.csv').requestIds).toEqual(['b', 'd', 'a', 'c', 'e']);
  });

  it('accepts a text column of prose and a token_ids column without storing them', () => {
    const text =
      'arrival_time_s,input_tokens,output_tokens,text,token_ids\n' +
      '0,3,1,"He said, ""no.""\nThen left.","[1, 2, 3]"\n' +
      '1,2,1,,"[4,5]"\n';
    const w = parseTrace(text, 't.csv');
    expect(w.n).toBe(2);
    expect(Object.keys(w)).not.toContain('text');
  });

  it('names a missing required column and the header it found', () => {
    const msgs = issuesOf(() => parseTrace('arrival_time_s,output_tokens\n0,1\n', 'x.csv'));
    expect(msgs).toEqual([
      'x.csv:1: missing required column "input_tokens" (the header is: arrival_time_s,output_tokens; kvplan traces need arrival_time_s, input_tokens, output_tokens)',
    ]);
  });

  it('names file:line, column and value for non-numeric, negative, non-integer and zero cells', () => {
    const text = [
      'arrival_time_s,input_tokens,output_tokens',
      '0,abc,1', // 2
      '-1,10,1', // 3
      '1,10.5,2', // 4
      '2,10,0', // 5
      '3,0,4', // 6
      '4,,4', // 7
      'x,-5,1', // 8
    ].join('\n');
    expect(issuesOf(() => parseTrace(text, 'bad.csv'))).toEqual([
      'bad.csv:2: column input_tokens: expected an integer, got "abc"',
      'bad.csv:3: column arrival_time_s: must not be negative, got "-1"',
      'bad.csv:4: column input_tokens: expected an integer, got "10.5"',
      'bad.csv:5: column output_tokens: must be at least 1, got 0 (vLLM generates at least one token)',
      'bad.csv:6: column input_tokens: must be at least 1, got 0 (a prompt needs at least one token)',
      'bad.csv:7: column input_tokens: is empty (a required column)',
      'bad.csv:8: column arrival_time_s: expected a number, got "x"',
      'bad.csv:8: column input_tokens: must be at least 1, got -5 (a prompt needs at least one token)',
    ]);
  });

  it('counts lines inside quoted fields when naming a bad line', () => {
    const text = 'arrival_time_s,input_tokens,output_tokens,text\n0,1,1,"a\nb\nc"\n1,2,zz,ok\n';
    expect(issuesOf(() => parseTrace(text, 'q.csv'))).toEqual([
      'q.csv:5: column output_tokens: expected an integer, got "zz"',
    ]);
  });

  it('reports rows with the wrong number of fields, an unterminated quote and text after a closing quote', () => {
    expect(
      issuesOf(() => parseTrace('arrival_time_s,input_tokens,output_tokens\n0,1\n1,1,1\n', 'f.csv')),
    ).toEqual(['f.csv:2: expected 3 fields as in the header, got 2']);
    const unterminated = issuesOf(() =>
      parseTrace('arrival_time_s,input_tokens,output_tokens,text\n0,1,1,"open\n1,1,1,x\n', 'u.csv'),
    );
    expect(unterminated[0]).toBe('u.csv:2: unterminated quoted field (a " opened here is never closed)');
    const after = issuesOf(() =>
      parseTrace('arrival_time_s,input_tokens,output_tokens,text\n0,1,1,"a"b\n', 'a.csv'),
    );
    expect(after[0]).toMatch(/^a\.csv:2: unexpected text after a closing quote/);
  });

  it('checks prefix columns against each other and against input_tokens', () => {
    const text = [
      'arrival_time_s,input_tokens,output_tokens,prefix_group,prefix_tokens',
      '0,10,1,g,20',
      '1,10,1,,5',
      '2,10,1,g,',
      '3,10,1,g,10',
    ].join('\n');
    expect(issuesOf(() => parseTrace(text, 'p.csv'))).toEqual([
      'p.csv:2: column prefix_tokens: is 20, more than input_tokens (10)',
      'p.csv:3: column prefix_tokens: is 5 but the row has no prefix_group',
      'p.csv:4: column prefix_tokens: is empty but prefix_group is "g" (give the shared prefix length)',
    ]);
    expect(
      issuesOf(() =>
        parseTrace('arrival_time_s,input_tokens,output_tokens,prefix_group\n0,1,1,g\n', 'h.csv'),
      ),
    ).toEqual(['h.csv:1: columns prefix_group and prefix_tokens go together: give both or neither']);
  });

  it('lists the first 20 problems and counts the rest', () => {
    const rows = ['arrival_time_s,input_tokens,output_tokens'];
    for (let i = 0; i < 50; i++) rows.push(`${i},x,1`);
    const msgs = issuesOf(() => parseTrace(rows.join('\n'), 'many.csv'));
    expect(msgs).toHaveLength(21);
    expect(msgs[0]).toBe('many.csv:2: column input_tokens: expected an integer, got "x"');
    expect(msgs[19]).toBe('many.csv:21: column input_tokens: expected an integer, got "x"');
    expect(msgs[20]).toBe('many.csv: and 30 more issues in this file');
  });

  it('rejects an empty trace, with or without a header', () => {
    expect(issuesOf(() => parseTrace('arrival_time_s,input_tokens,output_tokens\n', 'e.csv'))).toEqual([
      'e.csv: the trace holds no requests',
    ]);
    expect(issuesOf(() => parseTrace('', 'e.csv'))).toEqual(['e.csv: the trace holds no requests']);
  });
});

describe('kvplan JSON Lines', () => {
  it('reads the same keys, skips blank lines, ignores text and token_ids, adds columns that appear late', () => {
    const w = readTraceFile(path.join(FIX, 'kvplan.jsonl'));
    expect(w.n).toBe(3);
    expect(Array.from(w.arrivalS)).toEqual([0, 1.25, 2]);
    expect(Array.from(w.inputTokens)).toEqual([10, 12, 7]);
    expect(names(w, 'tenant')).toEqual(['a', 'b', null]);
    expect(names(w, 'prefixGroup')).toEqual([null, null, '5']);
    expect(Array.from(w.prefixTokens)).toEqual([0, 0, 4]);
    expect(w.requestIds).toEqual(['0', '1', 'late-id']);
    expect(Array.from(w.stage!)).toEqual([-1, -1, 2]);
  });

  it('names the line of invalid JSON and of bad values (blank lines count)', () => {
    const text = [
      '{"arrival_time_s": 0, "input_tokens": 1, "output_tokens": 1}',
      '',
      '{"arrival_time_s": 1, "input_tokens": "many", "output_tokens": 1}',
      '{not json',
      '[1, 2]',
      '{"arrival_time_s": 2, "input_tokens": 3, "output_tokens": 0}',
    ].join('\n');
    const msgs = issuesOf(() => parseTrace(text, 'b.jsonl'));
    expect(msgs[0]).toBe('b.jsonl:3: column input_tokens: expected an integer, got "many"');
    expect(msgs[1]).toMatch(/^b\.jsonl:4: not valid JSON/);
    expect(msgs[2]).toBe('b.jsonl:5: expected a JSON object, got [1,2]');
    expect(msgs[3]).toBe(
      'b.jsonl:6: column output_tokens: must be at least 1, got 0 (vLLM generates at least one token)',
    );
  });

  it('names a missing required key and the keys found', () => {
    expect(issuesOf(() => parseTrace('{"arrival_time_s": 0, "output_tokens": 2}\n', 'k.jsonl'))).toEqual([
      'k.jsonl:1: missing required key "input_tokens" (keys found: arrival_time_s, output_tokens; kvplan traces need arrival_time_s, input_tokens, output_tokens)',
    ]);
  });
});

describe('Azure LLM trace', () => {
  it('converts 7-digit timestamps to seconds from the earliest row without losing sub-millisecond precision', () => {
    const w = readTraceFile(path.join(FIX, 'azure.csv'));
    expect(w.n).toBe(4);
    // Earliest is 23:59:59.5 (third row); the day rolls over between rows.
    expect(w.arrivalS[0]).toBe(0);
    expect(w.arrivalS[1]).toBeCloseTo(0.4999999, 12);
    expect(w.arrivalS[2]).toBeCloseTo(0.5000001, 12);
    expect(w.arrivalS[3]).toBeCloseTo(1.7345678, 12);
    expect(w.arrivalS[2] - w.arrivalS[1]).toBeCloseTo(2e-7, 12);
    expect(Array.from(w.inputTokens)).toEqual([100, 374, 396, 2000]);
    expect(Array.from(w.outputTokens)).toEqual([10, 44, 109, 1]);
  });

  it('parses timestamps by hand, with zones, leap days and bad dates', () => {
    const a = parseTimestamp('2024-02-29 12:00:00.25')!;
    const b = parseTimestamp('2024-03-01T00:00:00Z')!;
    expect(b.sec - a.sec + (b.frac - a.frac)).toBe(12 * 3600 - 0.25);
    expect(parseTimestamp('1970-01-01 00:00:00')).toEqual({ sec: 0, frac: 0 });
    expect(parseTimestamp('2023-11-16 18:15:46+02:00')!.sec).toBe(parseTimestamp('2023-11-16 16:15:46')!.sec);
    expect(parseTimestamp('2023-02-29 00:00:00')).toBeNull();
    expect(parseTimestamp('2023-11-16')).toBeNull();
  });

  it('names bad timestamps and counts with their line', () => {
    const text =
      'TIMESTAMP,ContextTokens,GeneratedTokens\n2023-11-16 18:15:46.6805900,374,0\nyesterday,10,2\n';
    expect(issuesOf(() => parseTrace(text, 'az.csv'))).toEqual([
      'az.csv:2: column GeneratedTokens: must be at least 1, got 0 (vLLM generates at least one token)',
      'az.csv:3: column TIMESTAMP: expected a date and time like 2023-11-16 18:15:46.6805900, got "yesterday"',
    ]);
  });

  it('names a missing Azure column', () => {
    const msgs = issuesOf(() => parseTrace('TIMESTAMP,ContextTokens\n2023-11-16 18:15:46,1\n', 'az.csv'));
    expect(msgs).toEqual([
      'az.csv:1: missing required column "GeneratedTokens" (the header is: TIMESTAMP,ContextTokens; an Azure LLM trace has TIMESTAMP,ContextTokens,GeneratedTokens)',
    ]);
  });
});

describe('Mooncake JSON Lines', () => {
  it('maps hash-id chains to prefix groups (512 tokens a block, capped at the prompt) and ms to s', () => {
    const w = readTraceFile(path.join(FIX, 'mooncake.jsonl'));
    expect(Array.from(w.arrivalS)).toEqual([0, 0.5, 1, 1.5, 2]);
    expect(Array.from(w.inputTokens)).toEqual([1200, 1100, 300, 600, 1500]);
    // Group of first hash id 1 (rows 0,1,2,4); row 3 ([9, 10]) shares with nobody.
    expect(names(w, 'prefixGroup')).toEqual(['h1', 'h1', 'h1', null, 'h1']);
    expect(w.prefixGroupNames).toEqual(['h1']);
    // Row 1 shares 2 blocks; row 2 one block capped at its 300 tokens; row 4 three blocks capped at
    // the reference's 1200 tokens; the reference takes the largest share (1200).
    expect(Array.from(w.prefixTokens)).toEqual([1200, 1024, 300, 0, 1200]);
  });

  it('reports bad lines with the key and value', () => {
    const text =
      '{"timestamp": 0, "input_length": 5, "output_length": 1, "hash_ids": [1]}\n{"timestamp": -3, "input_length": 5, "output_length": 1, "hash_ids": "x"}\n';
    expect(issuesOf(() => parseTrace(text, 'm.jsonl'))).toEqual([
      'm.jsonl:2: key timestamp: must not be negative, got -3',
      'm.jsonl:2: key hash_ids: expected an array of numbers, got "x"',
    ]);
  });
});

describe('format detection and files', () => {
  it('detects formats from extension and header', () => {
    expect(detectTraceFormat('arrival_time_s,input_tokens,output_tokens\n', 'a.csv')).toBe('kvplan-csv');
    expect(detectTraceFormat('TIMESTAMP,ContextTokens,GeneratedTokens\n', 'a.csv')).toBe('azure-csv');
    expect(detectTraceFormat('{"timestamp": 1, "input_length": 2, "output_length": 3}\n', 'm.jsonl')).toBe(
      'mooncake-jsonl',
    );
    expect(detectTraceFormat('{"arrival_time_s": 1}\n', 'k.ndjson')).toBe('kvplan-jsonl');
    expect(detectTraceFormat('\n{"arrival_time_s": 1}\n', 'k.trace')).toBe('kvplan-jsonl');
    expect(detectTraceFormat('\ufeffarrival_time_s,input_tokens\n', 'k.txt')).toBe('kvplan-csv');
  });

  it('reads gzip-compressed traces and names unreadable files', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kvplan-trace-'));
    try {
      const file = path.join(dir, 't.csv.gz');
      fs.writeFileSync(file, zlib.gzipSync('arrival_time_s,input_tokens,output_tokens\n0,4,2\n'));
      expect(Array.from(readTraceFile(file).inputTokens)).toEqual([4]);
      expect(issuesOf(() => readTraceFile(path.join(dir, 'nope.csv'), { displayName: 'nope.csv' }))).toEqual([
        'nope.csv: the trace file does not exist',
      ]);
      expect(issuesOf(() => readTraceFile(dir, { displayName: 'traces' }))).toEqual([
        'traces: the trace file is a directory, expected a file',
      ]);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('refuses devices and FIFOs at once instead of reading them (they could block or never end)', () => {
    expect(issuesOf(() => readTraceFile('/dev/null', { displayName: 'null.csv' }))).toEqual([
      'null.csv: the trace file is not a regular file (a device, FIFO or socket is never read)',
    ]);
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kvplan-trace-'));
    try {
      const fifo = path.join(dir, 'fifo.csv');
      execFileSync('mkfifo', [fifo]);
      const t0 = performance.now();
      expect(issuesOf(() => readTraceFile(fifo, { displayName: 'fifo.csv' }))).toEqual([
        'fifo.csv: the trace file is not a regular file (a device, FIFO or socket is never read)',
      ]);
      expect(performance.now() - t0).toBeLessThan(1000);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
