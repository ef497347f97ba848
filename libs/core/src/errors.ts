/**
 * One problem with user input: where (a field path like `engine.blockSize`, `trace.csv:12` or
 * `sample.safetensors:layers.3.key`) and what was expected.
 */
export interface InputIssue {
  path: string;
  message: string;
}

/**
 * Bad input, for every library and app of kvplan (one family: the CLI maps it to exit code 2,
 * the API to a 400 with the issues as field-level messages, the worker fails the job without
 * retries). Carries every issue found, not only the first.
 */
export class InputError extends Error {
  readonly issues: InputIssue[];
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
