import { Injectable, NotFoundException } from '@nestjs/common';
import type { InputIssue } from '@kvplan/sim';
import { deploymentSection, type DeploymentDocRef, type SpecParts } from '@kvplan/contracts';
import {
  DeploymentDocsRepository,
  DeploymentRepository,
  FusionConfigRepository,
  TraceRepository,
  WorkloadProfileRepository,
} from '@kvplan/db';
import { InputIssuesException } from '../../common/validation';
import { PROBE_WORKLOAD, specIssues, workloadIssues } from '../../common/sim-port';
import { serviceLimitIssues } from '../../common/service-limits';
import { DEPLOYMENT_FIELDS } from '../deployments/deployments.dto';
import { FUSION_FIELDS } from '../fusion-configs/fusion-configs.dto';

function pick(src: object, keys: readonly string[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const k of keys) {
    const v = (src as Record<string, unknown>)[k];
    if (v !== undefined) out[k] = v;
  }
  return out;
}

/** Pairs of fields of which a deployment names at most one (the second: an uploaded document). */
const EITHER: Array<[string, DeploymentDocRef]> = [
  ['model', 'modelConfigId'],
  ['calibration', 'calibrationId'],
];

/** Domain checks of the named spec documents (the DTOs checked their shape already). */
@Injectable()
export class SpecsService {
  constructor(
    readonly profiles: WorkloadProfileRepository,
    readonly deployments: DeploymentRepository,
    readonly fusionConfigs: FusionConfigRepository,
    private readonly traces: TraceRepository,
    private readonly docRepo: DeploymentDocsRepository,
  ) {}

  /**
   * The deployment fields of a create or update body over `base` (the stored spec): a field set
   * in the body replaces its alternative (`model` replaces `modelConfigId` and the reverse).
   */
  deploymentSpec(dto: object, base: Record<string, unknown> = {}): Record<string, unknown> {
    const patch = pick(dto, DEPLOYMENT_FIELDS);
    const out = { ...base };
    for (const [a, b] of EITHER) {
      if (a in patch) delete out[b];
      if (b in patch) delete out[a];
    }
    return { ...out, ...patch };
  }

  fusionSpec(dto: object): Record<string, unknown> {
    return pick(dto, FUSION_FIELDS);
  }

  /** The uploaded documents a deployment names; a missing one is reported by its field. */
  async deploymentDocs(
    workspaceId: string,
    spec: Record<string, unknown>,
    where = '',
  ): Promise<{ docs: NonNullable<SpecParts['docs']>; issues: InputIssue[] }> {
    const { docs, missing } = await this.docRepo.load(workspaceId, spec);
    const what = { modelConfigId: 'model config', calibrationId: 'calibration' };
    const issues = missing.map((ref) => ({
      path: `${where}${ref}`,
      message: `no ${what[ref]} with this id in your workspace`,
    }));
    return { docs, issues };
  }

  async checkDeployment(workspaceId: string, spec: Record<string, unknown>): Promise<void> {
    const issues: InputIssue[] = [];
    for (const [a, b] of EITHER)
      if (spec[a] !== undefined && spec[b] !== undefined)
        issues.push({ path: b, message: `give ${a} or ${b}, not both` });
    if (spec.model === undefined && spec.modelConfigId === undefined)
      issues.push({
        path: 'model',
        message: 'required: a model preset or inline config keys, or modelConfigId',
      });
    issues.push(...serviceLimitIssues(spec));
    const { docs, issues: missing } = await this.deploymentDocs(workspaceId, spec);
    issues.push(...missing);
    if (!issues.length)
      issues.push(...specIssues({ ...deploymentSection(spec, docs), workload: PROBE_WORKLOAD }));
    if (issues.length) throw new InputIssuesException(issues);
  }

  checkFusion(spec: Record<string, unknown>): void {
    const issues: InputIssue[] = [];
    if (spec.mode === 'bff' && spec.window !== undefined)
      issues.push({ path: 'window', message: 'only for mode cff' });
    if (spec.mode === 'cff' && spec.batchSizes !== undefined)
      issues.push({ path: 'batchSizes', message: 'only for mode bff' });
    if (issues.length) throw new InputIssuesException(issues);
  }

  async checkWorkload(
    workspaceId: string,
    workload: Record<string, unknown>,
    traceId: string | null,
  ): Promise<void> {
    const issues = serviceLimitIssues({ workload });
    if (traceId) {
      const trace = await this.traces.get(workspaceId, traceId);
      if (!trace) issues.push({ path: 'traceId', message: 'no trace with this id in your workspace' });
      if (!issues.length) issues.push(...workloadIssues(workload, true));
    } else if (!issues.length) {
      issues.push(...workloadIssues(workload, false));
    }
    if (issues.length) throw new InputIssuesException(issues);
  }

  static notFound(what: string): NotFoundException {
    return new NotFoundException(`no ${what} with this id in your workspace`);
  }
}
