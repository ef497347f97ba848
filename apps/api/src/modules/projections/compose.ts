import type { DeploymentEntity, FusionConfigEntity, TraceEntity, WorkloadProfileEntity } from '@kvplan/db';

export interface ComposeInput {
  deployment: DeploymentEntity;
  profile: WorkloadProfileEntity;
  trace: TraceEntity | null;
  fusionConfig: FusionConfigEntity | null;
  threshold?: number;
  seed?: number;
  slo?: Record<string, unknown>;
}

/**
 * Builds the simulation spec object a job will run (a snapshot stored with the projection):
 * the deployment's fields, the workload (a stored trace by its path relative to the storage
 * root), and the fusion section. Fusion scope is `tenant` whenever the workload names tenants,
 * unless the fusion config says otherwise.
 */
export function composeSpec(input: ComposeInput): Record<string, unknown> {
  const { deployment, profile, trace, fusionConfig } = input;
  const workload: Record<string, unknown> = { ...profile.spec };
  if (trace) workload.trace = trace.storagePath;
  const spec: Record<string, unknown> = { ...deployment.spec, workload };
  if (input.slo) spec.slo = input.slo;
  if (input.seed !== undefined) spec.seed = input.seed;
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
      threshold: input.threshold ?? f.thresholds[0],
      scope: f.scope ?? (namesTenants ? 'tenant' : 'global'),
      ...(f.window !== undefined && { window: f.window }),
      ...(f.sharedReads !== undefined && { sharedReads: f.sharedReads }),
    };
  }
  return spec;
}
