/**
 * The one composer of the simulation spec a job runs, used by the api (projections, capacity
 * plans, the checks of a deployment) and the worker (fusion-profile jobs). It takes the stored
 * documents, never a path from a request: the workload's trace is named by its path relative to
 * the storage root (set by the service when it stored the upload), an uploaded model config or
 * calibration profile goes inline in place of the deployment's `modelConfigId`/`calibrationId`.
 */

type Doc = Record<string, unknown>;

/** Deployment fields that name uploaded documents (replaced by the documents themselves). */
export const DEPLOYMENT_DOC_REFS = { modelConfigId: 'model', calibrationId: 'calibration' } as const;
export type DeploymentDocRef = keyof typeof DEPLOYMENT_DOC_REFS;

/** The ids of the documents a deployment names. */
export function deploymentDocIds(deployment: Doc): Partial<Record<DeploymentDocRef, string>> {
  const out: Partial<Record<DeploymentDocRef, string>> = {};
  for (const k of Object.keys(DEPLOYMENT_DOC_REFS) as DeploymentDocRef[]) {
    const v = deployment[k];
    if (typeof v === 'string') out[k] = v;
  }
  return out;
}

export interface SpecParts {
  deployment: { spec: Doc };
  /** The workload profile. */
  profile: { spec: Doc };
  trace: { storagePath: string; tenants: readonly string[] } | null;
  fusionConfig: { spec: Doc } | null;
  /** The documents the deployment names by id, loaded (absent when it names none). */
  docs?: Partial<Record<DeploymentDocRef, { spec: Doc }>>;
}

export interface ComposeOptions {
  threshold?: number;
  seed?: number;
  slo?: Doc;
}

/** The deployment section with named documents inlined (a missing document leaves its field out). */
export function deploymentSection(deployment: Doc, docs: SpecParts['docs'] = {}): Doc {
  const out: Doc = { ...deployment };
  for (const [ref, field] of Object.entries(DEPLOYMENT_DOC_REFS) as Array<[DeploymentDocRef, string]>) {
    if (!(ref in out)) continue;
    delete out[ref];
    const doc = docs[ref];
    if (doc) out[field] = { ...doc.spec };
  }
  return out;
}

/** The workload section: the profile's, replaying its stored trace (by storage path) when it has one. */
export function composeWorkload(profile: { spec: Doc }, trace: { storagePath: string } | null): Doc {
  return trace ? { ...profile.spec, trace: trace.storagePath } : { ...profile.spec };
}

/**
 * The spec: the deployment's fields, the workload (a stored trace by its storage path), and the
 * fusion section. Fusion scope is `tenant` whenever the workload names tenants, unless the fusion
 * config says otherwise.
 */
export function composeSpec(parts: SpecParts, opts: ComposeOptions = {}): Doc {
  const { deployment, profile, trace, fusionConfig } = parts;
  const workload = composeWorkload(profile, trace);
  const spec: Doc = { ...deploymentSection(deployment.spec, parts.docs), workload };
  if (opts.slo) spec.slo = opts.slo;
  if (opts.seed !== undefined) spec.seed = opts.seed;
  if (fusionConfig) {
    const f = fusionConfig.spec as {
      mode: string;
      thresholds: number[];
      scope?: string;
      window?: number;
      sharedReads?: boolean;
    };
    const namesTenants = (trace?.tenants.length ?? 0) > 0 || profile.spec.tenants !== undefined;
    spec.fusion = {
      mode: f.mode,
      threshold: opts.threshold ?? f.thresholds[0],
      scope: f.scope ?? (namesTenants ? 'tenant' : 'global'),
      ...(f.window !== undefined && { window: f.window }),
      ...(f.sharedReads !== undefined && { sharedReads: f.sharedReads }),
    };
  }
  return spec;
}
