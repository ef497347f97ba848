import type { InputIssue } from '@kvplan/sim';

export type FlagType = 'boolean' | 'string' | 'number' | 'numbers' | 'integer';

export interface FlagSpec {
  type: FlagType;
  description: string;
  default?: boolean | string | number | number[];
  /** A check of the value given (not of the default): a message saying what was expected, or null. */
  check?: (value: FlagValue) => string | null;
}

export type FlagValue = boolean | string | number | number[] | undefined;

export interface ParsedArgs {
  positionals: string[];
  flags: Record<string, FlagValue>;
}

/**
 * Parses `--name value`, `--name=value`, `--flag` and `--no-flag`. Numeric flags take negative
 * numbers (`--threshold=-1`, `--threshold -1`) and comma lists (`--threshold 0.7,0.75`).
 * Returns every problem found (each flag's `check` included), for one message naming them all.
 */
export function collectArgs(
  argv: string[],
  specs: Record<string, FlagSpec>,
): { parsed: ParsedArgs; issues: InputIssue[] } {
  const issues: InputIssue[] = [];
  const positionals: string[] = [];
  const flags: Record<string, FlagValue> = {};
  for (const [name, spec] of Object.entries(specs))
    if (spec.default !== undefined) flags[name] = spec.default;

  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (!arg.startsWith('--') || arg === '--') {
      positionals.push(arg);
      continue;
    }
    const eq = arg.indexOf('=');
    let name = eq >= 0 ? arg.slice(2, eq) : arg.slice(2);
    let raw: string | undefined = eq >= 0 ? arg.slice(eq + 1) : undefined;
    const spec = specs[name];
    if (!spec && name.startsWith('no-') && specs[name.slice(3)]?.type === 'boolean' && raw === undefined) {
      name = name.slice(3);
      flags[name] = false;
      continue;
    }
    if (!spec) {
      issues.push({
        path: `--${name}`,
        message: `unknown option (known: ${Object.keys(specs)
          .map((k) => '--' + k)
          .join(', ')})`,
      });
      continue;
    }
    if (spec.type === 'boolean') {
      if (raw === undefined) flags[name] = true;
      else if (raw === 'true' || raw === 'false') flags[name] = raw === 'true';
      else issues.push({ path: `--${name}`, message: `expected true or false, got "${raw}"` });
      continue;
    }
    if (raw === undefined) {
      raw = argv[i + 1];
      if (raw === undefined || (raw.startsWith('--') && raw.length > 2)) {
        issues.push({ path: `--${name}`, message: 'expects a value' });
        continue;
      }
      i++;
    }
    const value = convert(raw, spec.type);
    if (typeof value === 'object' && value !== null && 'error' in value)
      issues.push({ path: `--${name}`, message: value.error });
    else {
      flags[name] = value;
      const problem = spec.check?.(value);
      if (problem) issues.push({ path: `--${name}`, message: problem });
    }
  }
  return { parsed: { positionals, flags }, issues };
}

/** A `check` for numbers (or each of a list) within [min, max] (or (min, max) with `open`). */
export function inRange(
  min: number,
  max: number,
  what: string,
  open = false,
): (v: FlagValue) => string | null {
  return (v) => {
    const bad = (Array.isArray(v) ? v : [v as number]).filter((x) =>
      open ? !(x > min && x < max) : !(x >= min && x <= max),
    );
    return bad.length ? `expected ${what}, got ${bad.join(', ')}` : null;
  };
}

function convert(raw: string, type: FlagType): FlagValue | { error: string } {
  if (type === 'string') return raw;
  const parts = raw.split(',').map((s) => s.trim());
  const nums = parts.map(Number);
  const bad = parts.filter((p, k) => p === '' || !Number.isFinite(nums[k]));
  if (bad.length)
    return {
      error: `expected ${type === 'numbers' ? 'a number or a comma list of numbers' : 'a number'}, got "${raw}"`,
    };
  if (type === 'numbers') return nums;
  if (nums.length !== 1) return { error: `expected one number, got "${raw}"` };
  if (type === 'integer' && !Number.isInteger(nums[0])) return { error: `expected an integer, got "${raw}"` };
  return nums[0];
}
