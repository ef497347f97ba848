import {
  InputError,
  IssueCollector,
  resolveSimulationSpec,
  validateWorkloadSpec,
  type InputIssue,
} from '@kvplan/sim';

/** A one-request workload: lets the resolver check a deployment or fusion section alone, cheaply. */
export const PROBE_WORKLOAD = {
  arrival: { process: 'constant', rate: 1 },
  numRequests: 1,
  inputTokens: { fixed: 16 },
  outputTokens: { fixed: 2 },
};

/** Resolves a spec, returning its issues instead of throwing (other errors propagate). */
export function specIssues(spec: Record<string, unknown>, baseDir: string): InputIssue[] {
  try {
    resolveSimulationSpec(spec, { fileName: 'spec', baseDir });
    return [];
  } catch (err) {
    if (err instanceof InputError) return err.issues;
    throw err;
  }
}

export function workloadIssues(workload: unknown, where = 'workload'): InputIssue[] {
  const issues = new IssueCollector();
  validateWorkloadSpec(workload, where, issues);
  return issues.issues;
}

const isObj = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * The service never reads files named in a request: model/gpu/calibration take preset names or
 * inline objects, workloads use `traceId` instead of `trace`, and length distributions are inline.
 */
export function pathIssues(spec: Record<string, unknown>): InputIssue[] {
  const out: InputIssue[] = [];
  const looksLikePath = (s: string) =>
    s.includes('..') || /^[./~\\]/.test(s) || /\.(json|ya?ml)$/i.test(s) || s.includes('\\');
  for (const key of ['model', 'gpu', 'calibration']) {
    const v = spec[key];
    if (typeof v === 'string' && looksLikePath(v))
      out.push({
        path: key,
        message: 'file paths are not accepted by the service: use a preset name or inline keys',
      });
  }
  const wl = spec.workload;
  if (isObj(wl)) {
    if ('trace' in wl)
      out.push({
        path: 'workload.trace',
        message: 'not accepted by the service: upload the trace and set traceId',
      });
    for (const k of ['inputTokens', 'outputTokens']) {
      const d = wl[k];
      if (isObj(d) && typeof d.empirical === 'string')
        out.push({ path: `workload.${k}.empirical`, message: 'file paths are not accepted by the service' });
    }
  }
  const fusion = spec.fusion;
  if (isObj(fusion) && 'profile' in fusion)
    out.push({ path: 'fusion.profile', message: 'set by the service from the stored fusion profile' });
  return out;
}
