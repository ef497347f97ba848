import { Inject, Injectable, NotFoundException } from '@nestjs/common';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { InputIssue } from '@kvplan/sim';
import {
  DeploymentRepository,
  FusionConfigRepository,
  TraceRepository,
  WorkloadProfileRepository,
} from '@kvplan/db';
import type { ApiConfig } from '../../config/config';
import { API_CONFIG } from '../../infra/tokens';
import { InputIssuesException } from '../../common/validation';
import { PROBE_WORKLOAD, pathIssues, specIssues, workloadIssues } from '../../common/sim-port';
import { DEPLOYMENT_FIELDS, FUSION_FIELDS } from './specs.dto';

function pick(src: object, keys: readonly string[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const k of keys) {
    const v = (src as Record<string, unknown>)[k];
    if (v !== undefined) out[k] = v;
  }
  return out;
}

/** Domain checks of the named spec documents (the DTOs checked their shape already). */
@Injectable()
export class SpecsService {
  /** An empty directory: relative paths in a request resolve to nothing readable. */
  readonly probeDir: string;

  constructor(
    readonly profiles: WorkloadProfileRepository,
    readonly deployments: DeploymentRepository,
    readonly fusionConfigs: FusionConfigRepository,
    private readonly traces: TraceRepository,
    @Inject(API_CONFIG) config: ApiConfig,
  ) {
    this.probeDir = path.resolve(config.storageDir, 'empty');
    fs.mkdirSync(this.probeDir, { recursive: true });
  }

  deploymentSpec(dto: object): Record<string, unknown> {
    return pick(dto, DEPLOYMENT_FIELDS);
  }

  fusionSpec(dto: object): Record<string, unknown> {
    return pick(dto, FUSION_FIELDS);
  }

  checkDeployment(spec: Record<string, unknown>): void {
    const issues = pathIssues(spec);
    if (!issues.length) issues.push(...specIssues({ ...spec, workload: PROBE_WORKLOAD }, this.probeDir));
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
    const issues = pathIssues({ workload });
    if (traceId) {
      const trace = await this.traces.get(workspaceId, traceId);
      if (!trace) issues.push({ path: 'traceId', message: 'no trace with this id in your workspace' });
      if (!issues.length) issues.push(...workloadIssues({ ...workload, trace: 'stored-trace' }));
    } else if (!issues.length) {
      issues.push(...workloadIssues(workload));
    }
    if (issues.length) throw new InputIssuesException(issues);
  }

  static notFound(what: string): NotFoundException {
    return new NotFoundException(`no ${what} with this id in your workspace`);
  }
}
