/**
 * Bad input to libs/fusion (a KV sample file, a fusion option). Shaped like libs/sim's
 * InputError: it carries every issue found, each with a path (`file.safetensors:layers.3.key`,
 * `options.threshold`) and what was expected. The CLI maps any error with `issues` to exit 2.
 */
export interface FusionIssue {
  path: string;
  message: string;
}

export class FusionInputError extends Error {
  readonly issues: FusionIssue[];
  constructor(issues: FusionIssue[] | string) {
    const list = typeof issues === 'string' ? [{ path: '', message: issues }] : issues;
    super(list.map((i) => (i.path ? `${i.path}: ${i.message}` : i.message)).join('\n'));
    this.name = 'FusionInputError';
    this.issues = list;
  }
}

/** Collects issues while validating; throws them all at once. */
export class FusionIssueCollector {
  readonly issues: FusionIssue[] = [];
  add(path: string, message: string): void {
    this.issues.push({ path, message });
  }
  get ok(): boolean {
    return this.issues.length === 0;
  }
  throwIfAny(): void {
    if (this.issues.length > 0) throw new FusionInputError(this.issues);
  }
}

/** True for FusionInputError and for any error shaped like one (libs/sim's InputError included). */
export function isInputError(err: unknown): err is Error & { issues: FusionIssue[] } {
  return err instanceof Error && Array.isArray((err as { issues?: unknown }).issues);
}
