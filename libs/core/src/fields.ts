import type { IssueCollector } from './errors';

/** Small validators for spec sections: each reports what was expected and returns undefined when wrong. */

export type Obj = Record<string, unknown>;

export function isObj(v: unknown): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** A short rendering of a value for messages. */
export function show(v: unknown): string {
  if (v === undefined) return 'nothing';
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'a list';
  if (typeof v === 'object') return 'an object';
  if (typeof v === 'string') return JSON.stringify(v.length > 60 ? `${v.slice(0, 57)}...` : v);
  if (typeof v === 'number' && Number.isNaN(v)) return 'NaN';
  return String(v);
}

function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++)
      cur[j] = Math.min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
    prev = cur;
  }
  return prev[b.length];
}

/** Joins a parent path and a key (`''` + `model` = `model`). */
export function at(where: string, key: string): string {
  return where ? `${where}.${key}` : key;
}

/** Reports every key of `obj` outside `allowed`, with a near spelling when there is one. */
export function checkKeys(obj: Obj, allowed: readonly string[], where: string, issues: IssueCollector): void {
  for (const k of Object.keys(obj)) {
    if (allowed.includes(k)) continue;
    const near = allowed.find((a) => a.toLowerCase() === k.toLowerCase() || editDistance(a, k) <= 2);
    issues.add(
      at(where, k),
      `unknown key${near ? ` (did you mean ${near}?)` : ''}; allowed keys: ${allowed.join(', ')}`,
    );
  }
}

export interface NumRule {
  min?: number;
  /** min is exclusive. */
  above?: boolean;
  max?: number;
  integer?: boolean;
}

function ruleText(r: NumRule): string {
  const parts: string[] = [r.integer ? 'an integer' : 'a number'];
  if (r.min !== undefined) parts.push(`${r.above ? '>' : '>='} ${r.min}`);
  if (r.max !== undefined) parts.push(`${r.min !== undefined ? 'and ' : ''}<= ${r.max}`);
  return parts.join(' ');
}

/** The value when it is a finite number meeting `rule`; else reports it and returns undefined. */
export function num(v: unknown, where: string, issues: IssueCollector, rule: NumRule): number | undefined {
  const ok =
    typeof v === 'number' &&
    Number.isFinite(v) &&
    (!rule.integer || Number.isSafeInteger(v)) &&
    (rule.min === undefined || (rule.above ? v > rule.min : v >= rule.min)) &&
    (rule.max === undefined || v <= rule.max);
  if (!ok) {
    issues.add(where, `expected ${ruleText(rule)}, got ${show(v)}`);
    return undefined;
  }
  return v as number;
}

/** Like num, but `undefined` (key absent) yields `fallback` without an issue. */
export function optNum(
  v: unknown,
  where: string,
  issues: IssueCollector,
  rule: NumRule,
  fallback: number,
): number | undefined {
  return v === undefined ? fallback : num(v, where, issues, rule);
}

export function optBool(
  v: unknown,
  where: string,
  issues: IssueCollector,
  fallback: boolean,
): boolean | undefined {
  if (v === undefined) return fallback;
  if (typeof v === 'boolean') return v;
  issues.add(where, `expected true or false, got ${show(v)}`);
  return undefined;
}

export function optEnum<T extends string>(
  v: unknown,
  where: string,
  issues: IssueCollector,
  allowed: readonly T[],
  fallback: T,
): T | undefined {
  if (v === undefined) return fallback;
  if (typeof v === 'string' && (allowed as readonly string[]).includes(v)) return v as T;
  issues.add(where, `expected one of ${allowed.join(', ')}, got ${show(v)}`);
  return undefined;
}

/** An optional object section: undefined/null -> null; a non-object is reported. */
export function optSection(
  v: unknown,
  where: string,
  issues: IssueCollector,
  expected: string,
): Obj | null | undefined {
  if (v === undefined || v === null) return null;
  if (isObj(v)) return v;
  issues.add(where, `expected an object ${expected}, got ${show(v)}`);
  return undefined;
}
