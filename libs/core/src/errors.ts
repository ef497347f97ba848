/**
 * One problem with user input: where (a field path like `engine.blockSize`, `trace.csv:12` or
 * `sample.safetensors:layers.3.key`) and what was expected.
 */
export interface InputIssue {
  path: string;
  message: string;
}

/** The brand of an InputError: a registered symbol, the same in every copy of this module. */
const INPUT_ERROR = Symbol.for('kvplan.InputError');

/**
 * Bad input, for every library and app of kvplan (one family: the CLI maps it to exit code 2,
 * the API to a 400 with the issues as field-level messages, the worker fails the job without
 * retries). Carries every issue found, not only the first.
 *
 * `instanceof InputError` holds across copies of this module: the CLI's bundle inlines the
 * libraries into each command's file, so an error thrown by a command's copy must still be
 * recognised by the entry point's copy (a plain class check answered "internal error", exit 1).
 */
export class InputError extends Error {
  readonly issues: InputIssue[];
  readonly [INPUT_ERROR] = true;
  static override [Symbol.hasInstance](value: unknown): boolean {
    return (
      typeof value === 'object' &&
      value !== null &&
      (value as { [INPUT_ERROR]?: unknown })[INPUT_ERROR] === true
    );
  }
  constructor(issues: InputIssue[] | string) {
    const list = typeof issues === 'string' ? [{ path: '', message: issues }] : issues;
    super(list.map((i) => (i.path ? `${i.path}: ${i.message}` : i.message)).join('\n'));
    this.name = 'InputError';
    this.issues = list;
  }
}

/** Collects issues while validating; throws them all at once. */
export class IssueCollector {
  readonly issues: InputIssue[] = [];
  add(path: string, message: string): void {
    this.issues.push({ path, message });
  }
  get ok(): boolean {
    return this.issues.length === 0;
  }
  throwIfAny(): void {
    if (this.issues.length > 0) throw new InputError(this.issues);
  }
}
