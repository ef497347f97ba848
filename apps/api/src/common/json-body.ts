import type { InputIssue } from '@kvplan/sim';

/**
 * Limits on a JSON body, checked right after parsing and before anything walks it recursively
 * (class-transformer overflowed its stack on bodies nested thousands deep; the validation pipe
 * took seconds to list 60,000 unknown keys). The walk is iterative and stops at the first
 * problems, so an abusive body costs about as much as parsing it.
 */
export const JSON_LIMITS = { maxDepth: 32, maxKeys: 10_000, maxArrayItems: 100_000 } as const;
const MAX_ISSUES = 20;

/**
 * Text PostgreSQL cannot store (NUL) or that would not survive UTF-8 (lone surrogates), and the
 * other C0 controls but tab, newline and carriage return.
 */
const UNSTORABLE =
  /[\u0000-\u0008\u000b\u000c\u000e-\u001f]|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

/** Why `s` cannot be stored, or null. */
export function unstorableText(s: string): string | null {
  const m = UNSTORABLE.exec(s);
  if (!m) return null;
  const code = m[0].charCodeAt(0);
  return code === 0
    ? 'contains a NUL character, which cannot be stored'
    : code < 0x20
      ? `contains the control character U+${code.toString(16).padStart(4, '0').toUpperCase()}`
      : 'contains an unpaired UTF-16 surrogate (not valid Unicode text)';
}

/** Keys that could reach an object's prototype through a later assignment. */
const FORBIDDEN_KEYS = new Set(['__proto__', 'constructor', 'prototype']);

const child = (path: string, key: string | number): string =>
  typeof key === 'number' ? `${path}[${key}]` : path ? `${path}.${key}` : key;

/** Problems of a parsed JSON value (depth, key count, unstorable text), by path; [] when fine. */
export function jsonBodyIssues(value: unknown, root = ''): InputIssue[] {
  const issues: InputIssue[] = [];
  const stack: Array<[unknown, string, number]> = [[value, root, 0]];
  let keys = 0;
  while (stack.length && issues.length < MAX_ISSUES) {
    const [v, path, depth] = stack.pop()!;
    if (typeof v === 'string') {
      const why = unstorableText(v);
      if (why) issues.push({ path: path || 'body', message: why });
      continue;
    }
    if (typeof v !== 'object' || v === null) continue;
    if (depth >= JSON_LIMITS.maxDepth) {
      issues.push({ path: path || 'body', message: `nested deeper than ${JSON_LIMITS.maxDepth} levels` });
      break;
    }
    if (Array.isArray(v)) {
      if (v.length > JSON_LIMITS.maxArrayItems) {
        issues.push({ path: path || 'body', message: `more than ${JSON_LIMITS.maxArrayItems} items` });
        break;
      }
      for (let i = v.length - 1; i >= 0; i--) stack.push([v[i], child(path, i), depth + 1]);
      continue;
    }
    const entries = Object.keys(v);
    keys += entries.length;
    if (keys > JSON_LIMITS.maxKeys) {
      issues.push({ path: path || 'body', message: `more than ${JSON_LIMITS.maxKeys} keys in the body` });
      break;
    }
    for (let i = entries.length - 1; i >= 0; i--) {
      const k = entries[i];
      const why = FORBIDDEN_KEYS.has(k) ? 'is not allowed' : unstorableText(k);
      if (why) issues.push({ path: child(path, k.replace(UNSTORABLE, '?')), message: `key ${why}` });
      else stack.push([(v as Record<string, unknown>)[k], child(path, k), depth + 1]);
    }
  }
  return issues;
}
