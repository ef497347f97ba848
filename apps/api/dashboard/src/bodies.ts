/**
 * The request bodies the dashboard's forms send, from their FormData: pure, so each is
 * unit-tested. Each returns the body, or every problem found (named by the field's label); the
 * API checks again and its 400 issues are shown as they come.
 */
type Data = Pick<FormData, 'get'>;

/** A number from a form field: undefined when empty, NaN when not a number. */
export function numberOf(data: Data, name: string): number | undefined {
  const raw = String(data.get(name) ?? '').trim();
  return raw === '' ? undefined : Number(raw);
}

/** Comma- or space-separated numbers ("0.7, 0.8"); NaN entries stay so the caller can reject them. */
export function numberList(raw: string): number[] {
  return raw
    .split(/[\s,]+/)
    .filter(Boolean)
    .map(Number);
}

export type Built = { body: Record<string, unknown> } | { problems: string[] };

const text = (d: Data, name: string) => String(d.get(name) ?? '').trim();

/** A positive number field, or a problem. */
function positive(
  d: Data,
  name: string,
  label: string,
  problems: string[],
  integer = false,
): number | undefined {
  const v = numberOf(d, name);
  if (v === undefined) return undefined;
  if (!Number.isFinite(v) || v <= 0 || (integer && !Number.isInteger(v)))
    problems.push(
      `${label}: expected a positive ${integer ? 'whole number' : 'number'}, got "${text(d, name)}"`,
    );
  return v;
}

function required<T>(v: T | undefined, label: string, problems: string[]): T | undefined {
  if (v === undefined || v === '') problems.push(`${label}: required`);
  return v;
}

const done = (body: Record<string, unknown>, problems: string[]): Built =>
  problems.length ? { problems } : { body };

/** The workload profile and deployment every run needs. */
function workloadOnDeployment(d: Data, problems: string[]): Record<string, unknown> {
  return {
    workloadProfileId: required(text(d, 'workloadProfileId'), 'Workload profile', problems),
    deploymentId: required(text(d, 'deploymentId'), 'Deployment', problems),
  };
}

/** POST /projections: the profile, deployment, optional fusion config and threshold, seed and SLO override. */
export function projectionRequest(d: Data): Built {
  const problems: string[] = [];
  const body = workloadOnDeployment(d, problems);
  const fusion = text(d, 'fusionConfigId');
  if (fusion) {
    body.fusionConfigId = fusion;
    const t = numberOf(d, 'threshold');
    if (t !== undefined) body.threshold = t;
  }
  const seed = numberOf(d, 'seed');
  if (seed !== undefined) {
    if (!Number.isInteger(seed) || seed < 0)
      problems.push(`Seed: expected a whole number ≥ 0, got "${text(d, 'seed')}"`);
    body.seed = seed;
  }
  const slo = sloOverride(d, problems);
  if (slo) body.slo = slo;
  return done(body, problems);
}

/** The p99 SLO fields (sloTtft, sloTpot, sloE2el, ms) as an SLO, or undefined when all are empty. */
function sloOverride(d: Data, problems: string[]): Record<string, { p99: number }> | undefined {
  const slo: Record<string, { p99: number }> = {};
  for (const [name, key, label] of [
    ['sloTtft', 'ttftMs', 'SLO TTFT p99'],
    ['sloTpot', 'tpotMs', 'SLO TPOT p99'],
    ['sloE2el', 'e2elMs', 'SLO E2E p99'],
  ] as const) {
    const v = positive(d, name, `${label} (ms)`, problems);
    if (v !== undefined) slo[key] = { p99: v };
  }
  return Object.keys(slo).length ? slo : undefined;
}

/** What each capacity mode sweeps, the body key, its label and a check of one value. */
export const CAPACITY_SWEEPS = {
  'max-rate': { key: 'rateScales', label: 'Rate multiples', ok: (v: number) => v > 0 },
  'min-gpus': { key: 'replicas', label: 'Replica counts', ok: (v: number) => Number.isInteger(v) && v >= 1 },
  pareto: { key: 'thresholds', label: 'Thresholds', ok: (v: number) => v > 0 && v <= 1 },
} as const;

/** POST /capacity-plans: a mode, its sweep (empty: the API's default) and an SLO override. */
export function capacityRequest(d: Data): Built {
  const problems: string[] = [];
  const body = workloadOnDeployment(d, problems);
  const fusion = text(d, 'fusionConfigId');
  if (fusion) body.fusionConfigId = fusion;
  const mode = text(d, 'mode');
  body.mode = mode;
  const sweep = CAPACITY_SWEEPS[mode as keyof typeof CAPACITY_SWEEPS];
  if (!sweep) problems.push(`Mode: expected max-rate, min-gpus or pareto, got "${mode}"`);
  else {
    const values = numberList(text(d, 'sweep'));
    if (values.some((v) => !sweep.ok(v))) problems.push(`${sweep.label}: not valid: "${text(d, 'sweep')}"`);
    if (values.length) body[sweep.key] = values;
    if (mode === 'pareto' && !fusion) problems.push('Fusion config: required for pareto (its thresholds)');
  }
  const slo = sloOverride(d, problems);
  if (slo) body.slo = slo;
  return done(body, problems);
}

/**
 * POST /capacity-plans in mode answer: the workload, the deployments to compare (ticked boxes, one
 * per GPU type), an optional fusion config with its thresholds, TP degrees, a target rate and
 * an SLO override.
 */
export function answerRequest(d: Pick<FormData, 'get' | 'getAll'>): Built {
  const problems: string[] = [];
  const body: Record<string, unknown> = {
    mode: 'answer',
    workloadProfileId: required(text(d, 'workloadProfileId'), 'Workload profile', problems),
  };
  const deployments = d
    .getAll('deploymentIds')
    .map((v) => String(v).trim())
    .filter(Boolean);
  if (!deployments.length) problems.push('Deployments: tick at least one (one per GPU type to compare)');
  body.deploymentIds = deployments;
  const fusion = text(d, 'fusionConfigId');
  const thresholds = numberList(text(d, 'thresholds'));
  if (thresholds.some((t) => !(t > 0 && t <= 1)))
    problems.push(`Thresholds: each in (0, 1], got "${text(d, 'thresholds')}"`);
  if (fusion) {
    body.fusionConfigId = fusion;
    if (thresholds.length) body.thresholds = thresholds;
  } else if (thresholds.length) problems.push('Thresholds: need a fusion config');
  const tps = numberList(text(d, 'tensorParallel'));
  if (tps.some((t) => !(Number.isInteger(t) && t >= 1)))
    problems.push(`TP degrees: whole numbers ≥ 1, got "${text(d, 'tensorParallel')}"`);
  if (tps.length) body.tensorParallel = tps;
  const rate = positive(d, 'targetRate', 'Target rate (req/s)', problems);
  if (rate !== undefined) body.targetRate = rate;
  const slo = sloOverride(d, problems);
  if (slo) body.slo = slo;
  return done(body, problems);
}

/** POST /workload-profiles: a synthetic workload (Poisson arrivals, log-normal lengths). */
export function workloadRequest(d: Data): Built {
  const problems: string[] = [];
  const name = required(text(d, 'name'), 'Name', problems);
  const rate = required(
    positive(d, 'rate', 'Arrival rate (req/s)', problems),
    'Arrival rate (req/s)',
    problems,
  );
  const n = required(positive(d, 'numRequests', 'Requests', problems, true), 'Requests', problems);
  const input = required(
    positive(d, 'inputMedian', 'Prompt tokens (median)', problems, true),
    'Prompt tokens (median)',
    problems,
  );
  const output = required(
    positive(d, 'outputMedian', 'Output tokens (median)', problems, true),
    'Output tokens (median)',
    problems,
  );
  return done(
    {
      name,
      workload: {
        arrival: { process: 'poisson', rate },
        numRequests: n,
        inputTokens: { lognormal: { median: input, sigma: 0.5 } },
        outputTokens: { lognormal: { median: output, sigma: 0.5 } },
      },
    },
    problems,
  );
}

/** POST /fusion-configs: mode and thresholds (each in (0, 1]). */
export function fusionConfigRequest(d: Data): Built {
  const problems: string[] = [];
  const name = required(text(d, 'name'), 'Name', problems);
  const mode = text(d, 'mode');
  if (mode !== 'bff' && mode !== 'cff') problems.push(`Mode: expected bff or cff, got "${mode}"`);
  const thresholds = numberList(text(d, 'thresholds'));
  if (!thresholds.length) problems.push('Thresholds: required (for example 0.7, 0.8)');
  const bad = thresholds.filter((t) => !(t > 0 && t <= 1));
  if (bad.length) problems.push(`Thresholds: each in (0, 1], got ${bad.map(String).join(', ')}`);
  const body: Record<string, unknown> = { name, mode, thresholds };
  const sizes = numberList(text(d, 'batchSizes'));
  if (sizes.some((b) => !(Number.isInteger(b) && b >= 2)))
    problems.push(`Batch sizes: whole numbers ≥ 2, got "${text(d, 'batchSizes')}"`);
  if (sizes.length) body.batchSizes = sizes;
  return done(body, problems);
}

/** POST /fusion-profiles: build a profile for a workload, fusion config and deployment. */
export function fusionProfileRequest(d: Data): Built {
  const problems: string[] = [];
  const body: Record<string, unknown> = {
    workloadProfileId: required(text(d, 'workloadProfileId'), 'Workload profile', problems),
    fusionConfigId: required(text(d, 'fusionConfigId'), 'Fusion config', problems),
    deploymentId: required(text(d, 'deploymentId'), 'Deployment', problems),
  };
  const size = positive(d, 'sampleSize', 'Sampled requests', problems, true);
  if (size !== undefined) body.sampleSize = size;
  const tokens = positive(d, 'maxPromptTokens', 'Prompt tokens kept', problems, true);
  if (tokens !== undefined) body.maxPromptTokens = tokens;
  return done(body, problems);
}

/** The engine knobs of the deployment form: field name, label, whole number or fraction. */
export const ENGINE_FIELDS = [
  ['maxNumSeqs', 'Max sequences', true],
  ['maxNumBatchedTokens', 'Max batched tokens', true],
  ['blockSize', 'Block size (tokens)', true],
  ['maxModelLen', 'Max model length (tokens)', true],
  ['gpuMemoryUtilization', 'GPU memory utilisation', false],
] as const;

/**
 * POST /deployments from presets: a model and GPU preset, TP, replicas, the engine knobs given
 * (empty: the simulator's defaults for the GPU class), prefix caching, and a $/GPU-hour price.
 */
export function deploymentRequest(d: Data): Built {
  const problems: string[] = [];
  const body: Record<string, unknown> = {
    name: required(text(d, 'name'), 'Name', problems),
    model: required(text(d, 'model'), 'Model', problems),
    gpu: required(text(d, 'gpu'), 'GPU', problems),
  };
  for (const [name, key, label] of [
    ['tensorParallel', 'tensorParallel', 'Tensor parallel'],
    ['replicas', 'replicas', 'Replicas'],
  ] as const) {
    const v = positive(d, name, label, problems, true);
    if (v !== undefined) body[key] = v;
  }
  const engine: Record<string, unknown> = {};
  for (const [name, label, integer] of ENGINE_FIELDS) {
    const v = positive(d, name, label, problems, integer);
    if (v !== undefined) engine[name] = v;
  }
  const util = engine.gpuMemoryUtilization;
  if (typeof util === 'number' && util > 1)
    problems.push(
      `GPU memory utilisation: expected a fraction in (0, 1], got "${text(d, 'gpuMemoryUtilization')}"`,
    );
  const caching = text(d, 'enablePrefixCaching');
  if (caching) engine.enablePrefixCaching = caching === 'on';
  if (Object.keys(engine).length) body.engine = engine;
  const price = positive(d, 'gpuHourUsd', 'Price ($ per GPU-hour)', problems);
  if (price !== undefined) body.cost = { gpuHourUsd: price };
  return done(body, problems);
}
