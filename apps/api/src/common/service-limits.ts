import type { InputIssue } from '@kvplan/sim';

/** Replicas one deployment may simulate (each is a full engine in the simulator). */
export const MAX_REPLICAS = 256;
/** Pipeline stages one replica may have (each stage is simulated, its transfers timed). */
export const MAX_PIPELINE_PARALLEL = 64;
/** Data-parallel ranks of one replica (each an engine in the simulator). */
export const MAX_DATA_PARALLEL = 64;
/** Engines one deployment may simulate in all: replicas x dataParallel. */
export const MAX_ENGINES = MAX_REPLICAS;
/** Requests one workload may generate or replay in the service. */
export const MAX_SERVICE_REQUESTS = 1_000_000;
const MAX_TOKENS = 1_000_000;

/**
 * The service's upper bounds on engine and workload numbers (the simulator's own are looser: a
 * laptop may run what it likes; a shared service must not let one request occupy a worker for
 * long). Checked on every stored deployment and workload, by issue path; the first pattern that
 * matches a number's path decides.
 */
const LIMITS: Array<[RegExp, number]> = [
  [/^replicas$/, MAX_REPLICAS],
  [/^tensorParallel$/, 64],
  [/^pipelineParallel$/, MAX_PIPELINE_PARALLEL],
  [/^kvOffload\.(cpuGiB|hostMemoryGiB)$/, 1 << 20],
  [/^dataParallel$/, MAX_DATA_PARALLEL],
  [/^topology\.(gpusPerNode)$/, 64],
  [/^topology\.nodes$/, 1024],
  [/^topology\.(linkGBps|networkGBps)$/, 100_000],
  [/^topology\.(linkLatencyUs|networkLatencyUs)$/, 1_000_000],
  [/^engine\.maxNumSeqs$/, 65_536],
  [/^engine\.maxNumBatchedTokens$/, 1 << 20],
  [/^engine\.maxModelLen$/, 1 << 22],
  [/^engine\.numGpuBlocks$/, 100_000_000],
  [/^workload\.(numRequests|maxRequests)$/, MAX_SERVICE_REQUESTS],
  [/^workload\.(arrival|stages\[\d+\])\.rate$/, 10_000],
  [/^workload\.stages\[\d+\]\.durationS$/, 30 * 24 * 3600],
  [/^workload\.(durationS|startS)$/, 365 * 24 * 3600],
  [/^workload\.(input|output)Tokens\.lognormal\.sigma$/, 10],
  [/^workload\.(input|output)Tokens\b/, MAX_TOKENS],
  [/^workload\.prefixGroups\.tokens$/, MAX_TOKENS],
  [/^workload\.(prefixGroups|tenants)\.count$/, 100_000],
  [/^workload\.arrival\.burstiness$/, 1_000],
  [/^workload\.timeScale$/, 1_000],
];

function numbers(v: unknown, path: string, out: Array<[string, number]>, depth = 0): void {
  if (depth > 8) return;
  if (typeof v === 'number') out.push([path, v]);
  else if (Array.isArray(v)) v.forEach((x, i) => numbers(x, `${path}[${i}]`, out, depth + 1));
  else if (typeof v === 'object' && v !== null)
    for (const [k, x] of Object.entries(v)) numbers(x, path ? `${path}.${k}` : k, out, depth + 1);
}

/** Every number of `spec` over its bound, and a generated workload whose stages add up to too many requests. */
export function serviceLimitIssues(spec: Record<string, unknown>): InputIssue[] {
  const found: Array<[string, number]> = [];
  numbers(spec, '', found);
  const issues: InputIssue[] = [];
  for (const [path, value] of found) {
    const limit = LIMITS.find(([re]) => re.test(path))?.[1];
    if (limit !== undefined && value > limit)
      issues.push({ path, message: `at most ${limit.toLocaleString('en-US')} in the service, got ${value}` });
  }
  const replicas = typeof spec.replicas === 'number' ? spec.replicas : 1;
  const dp = typeof spec.dataParallel === 'number' ? spec.dataParallel : 1;
  if (replicas <= MAX_REPLICAS && dp <= MAX_DATA_PARALLEL && replicas * dp > MAX_ENGINES)
    issues.push({
      path: 'dataParallel',
      message: `replicas ${replicas} x dataParallel ${dp} = ${replicas * dp} engines; at most ${MAX_ENGINES} in the service`,
    });
  const wl = spec.workload as { stages?: unknown; numRequests?: unknown } | undefined;
  if (wl && Array.isArray(wl.stages) && wl.numRequests === undefined) {
    const total = wl.stages.reduce((s: number, st: { rate?: unknown; durationS?: unknown }) => {
      const r = typeof st?.rate === 'number' ? st.rate : 0;
      const d = typeof st?.durationS === 'number' ? st.durationS : 0;
      return s + r * d;
    }, 0);
    if (total > MAX_SERVICE_REQUESTS)
      issues.push({
        path: 'workload.stages',
        message: `the stages generate about ${Math.round(total)} requests; at most ${MAX_SERVICE_REQUESTS.toLocaleString('en-US')} in the service`,
      });
  }
  return issues;
}
