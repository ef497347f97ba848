import { InputError, type InputIssue } from '@kvplan/core';

/** How many line-level problems of one file are listed before the rest are only counted. */
export const MAX_LISTED_ISSUES = 20;

/**
 * Issues found in one trace file. Keeps the first MAX_LISTED_ISSUES, counts the rest, and on
 * throw adds one closing issue "and N more".
 */
export class FileIssues {
  private readonly list: InputIssue[] = [];
  private extra = 0;
  constructor(readonly file: string) {}

  /** `line` is 1-based, or null for a problem with the file as a whole. */
  add(line: number | null, message: string): void {
    if (this.list.length >= MAX_LISTED_ISSUES) {
      this.extra++;
      return;
    }
    this.list.push({ path: line === null ? this.file : `${this.file}:${line}`, message });
  }

  get count(): number {
    return this.list.length + this.extra;
  }

  issues(): InputIssue[] {
    if (this.extra === 0) return this.list.slice();
    const more = `and ${this.extra} more issue${this.extra === 1 ? '' : 's'} in this file`;
    return [...this.list, { path: this.file, message: more }];
  }

  throwIfAny(): void {
    if (this.count > 0) throw new InputError(this.issues());
  }
}

/** A short, quoted rendering of a bad value for messages. */
export function showValue(v: unknown): string {
  if (typeof v === 'string') {
    const s = v.length > 40 ? `${v.slice(0, 37)}...` : v;
    return JSON.stringify(s);
  }
  if (typeof v === 'number') return Number.isNaN(v) ? 'NaN' : String(v);
  if (v === undefined) return 'nothing';
  try {
    const s = JSON.stringify(v) ?? String(v);
    return s.length > 40 ? `${s.slice(0, 37)}...` : s;
  } catch {
    return String(v);
  }
}

const MAX_INT32 = 2147483647;

/** Marker for an absent or empty cell. */
export const MISSING: unique symbol = Symbol('missing');

/**
 * Reads an integer cell (a CSV string or a JSON number/string). Returns the value, or a message
 * saying what is wrong with it. `null`/`undefined`/"" yield `missing` so callers can decide
 * whether an empty cell is allowed.
 */
export function readInt(v: unknown, min: number): number | string | typeof MISSING {
  let x: number;
  if (typeof v === 'string') {
    const n = v.length;
    if (n > 0 && n < 10) {
      // Fast path: plain digits.
      let acc = 0;
      let k = 0;
      for (; k < n; k++) {
        const c = v.charCodeAt(k) - 48;
        if (c < 0 || c > 9) break;
        acc = acc * 10 + c;
      }
      if (k === n) return acc >= min ? acc : belowMin(acc, min);
    }
    const t = v.trim();
    if (t === '') return MISSING;
    x = Number(t);
    if (Number.isNaN(x)) return `expected an integer, got ${showValue(v)}`;
  } else if (typeof v === 'number') {
    x = v;
  } else if (v === null || v === undefined) {
    return MISSING;
  } else {
    return `expected an integer, got ${showValue(v)}`;
  }
  if (!Number.isInteger(x)) return `expected an integer, got ${showValue(v)}`;
  if (x < min) return belowMin(x, min);
  if (x > MAX_INT32) return `must be at most ${MAX_INT32}, got ${showValue(v)}`;
  return x;
}

function belowMin(x: number, min: number): string {
  if (min === 0) return `must not be negative, got ${x}`;
  return `must be at least ${min}, got ${x}`;
}

/** Reads a finite number >= 0 (a CSV string or a JSON number/string). */
export function readNonNegative(v: unknown): number | string | typeof MISSING {
  let x: number;
  if (typeof v === 'string') {
    // Number() ignores surrounding blanks and reads "" or "  " as 0.
    x = Number(v);
    if (x === 0 && v.trim() === '') return MISSING;
    if (Number.isNaN(x)) return `expected a number, got ${showValue(v)}`;
  } else if (typeof v === 'number') {
    x = v;
  } else if (v === null || v === undefined) {
    return MISSING;
  } else {
    return `expected a number, got ${showValue(v)}`;
  }
  if (!Number.isFinite(x)) return `expected a finite number, got ${showValue(v)}`;
  if (x < 0) return `must not be negative, got ${showValue(v)}`;
  return x;
}
