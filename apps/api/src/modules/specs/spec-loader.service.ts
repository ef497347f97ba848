import { Injectable } from '@nestjs/common';
import type { InputIssue } from '@kvplan/sim';
import {
  DeploymentRepository,
  FusionConfigRepository,
  TraceRepository,
  WorkloadProfileRepository,
  type DeploymentEntity,
  type FusionConfigEntity,
  type TraceEntity,
  type WorkloadProfileEntity,
} from '@kvplan/db';
import type { SpecParts } from '@kvplan/contracts';
import { InputIssuesException } from '../../common/validation';
import { SpecsService } from './specs.service';

export interface LoadedSpecParts extends SpecParts {
  profile: WorkloadProfileEntity;
  deployment: DeploymentEntity;
  fusionConfig: FusionConfigEntity | null;
  trace: TraceEntity | null;
}

/** Loads the rows a projection or capacity plan names; every missing one is reported by its field. */
@Injectable()
export class SpecLoader {
  constructor(
    private readonly profiles: WorkloadProfileRepository,
    private readonly deployments: DeploymentRepository,
    private readonly fusionConfigs: FusionConfigRepository,
    private readonly traces: TraceRepository,
    private readonly specs: SpecsService,
  ) {}

  async load(
    ws: string,
    ids: { workloadProfileId: string; deploymentId: string; fusionConfigId?: string },
  ): Promise<LoadedSpecParts> {
    const [profile, deployment, fusionConfig] = await Promise.all([
      this.profiles.get(ws, ids.workloadProfileId),
      this.deployments.get(ws, ids.deploymentId),
      ids.fusionConfigId ? this.fusionConfigs.get(ws, ids.fusionConfigId) : Promise.resolve(null),
    ]);
    const issues: InputIssue[] = [];
    if (!profile)
      issues.push({
        path: 'workloadProfileId',
        message: 'no workload profile with this id in your workspace',
      });
    if (!deployment)
      issues.push({ path: 'deploymentId', message: 'no deployment with this id in your workspace' });
    if (ids.fusionConfigId && !fusionConfig)
      issues.push({ path: 'fusionConfigId', message: 'no fusion config with this id in your workspace' });
    if (issues.length) throw new InputIssuesException(issues);
    const [trace, { docs, issues: missing }] = await Promise.all([
      profile!.traceId ? this.traces.get(ws, profile!.traceId) : null,
      this.specs.deploymentDocs(ws, deployment!.spec, 'deployment.'),
    ]);
    if (missing.length) throw new InputIssuesException(missing);
    return { profile: profile!, deployment: deployment!, fusionConfig, trace, docs };
  }
}
