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

/**
 * Resolves a spec as the service does, returning its issues instead of throwing (other errors
 * propagate). `files: []`: the resolver reads no file whatever a field says; a string is a preset
 * name or nothing (the resolver decides, after its own trimming, so no second check can disagree).
 */
export function specIssues(spec: Record<string, unknown>): InputIssue[] {
  try {
    resolveSimulationSpec(spec, { fileName: 'spec', baseDir: '/nonexistent', files: [] });
    return [];
  } catch (err) {
    if (err instanceof InputError) return err.issues;
    throw err;
  }
}

/**
 * The shape of a workload to store (no materialising), with the service's rules (no file keys);
 * `withTrace`: it will replay an uploaded trace (its options only).
 */
export function workloadIssues(workload: Record<string, unknown>, withTrace: boolean): InputIssue[] {
  const own = serviceWorkloadIssues(workload, 'workload');
  if (own.length) return own;
  const issues = new IssueCollector();
  validateWorkloadSpec(withTrace ? { ...workload, trace: 'stored-trace' } : workload, 'workload', issues);
  return issues.issues;
}

const isObj = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * Keys of a stored workload that name files: the service sets `trace` itself from `traceId`, and
 * length distributions are inline. (Structural: any value of these keys is refused.)
 */
function serviceWorkloadIssues(wl: unknown, where: string): InputIssue[] {
  const out: InputIssue[] = [];
  if (!isObj(wl)) return out;
  if ('trace' in wl)
    out.push({
      path: `${where}.trace`,
      message: 'not accepted by the service: upload the trace and set traceId',
    });
  for (const k of ['inputTokens', 'outputTokens']) {
    const d = wl[k];
    if (isObj(d) && 'empirical' in d && !isObj(d.empirical))
      out.push({ path: `${where}.${k}.empirical`, message: 'file paths are not accepted by the service' });
  }
  return out;
}
