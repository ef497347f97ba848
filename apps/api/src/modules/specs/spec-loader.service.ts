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

  /**
   * `deploymentPath`: the field the deployment id came from (`deploymentIds[0]` for an answer
   * plan), named when it is missing.
   */
  async load(
    ws: string,
    ids: { workloadProfileId: string; deploymentId: string; fusionConfigId?: string },
    deploymentPath = 'deploymentId',
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
      issues.push({ path: deploymentPath, message: 'no deployment with this id in your workspace' });
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

  /** Deployments by id with their documents; each missing one is named as `field[i]`. */
  async loadDeployments(
    ws: string,
    ids: string[],
    field: string,
  ): Promise<Array<Pick<LoadedSpecParts, 'deployment' | 'docs'>>> {
    const rows = await Promise.all(ids.map((id) => this.deployments.get(ws, id)));
    const issues: InputIssue[] = rows.flatMap((r, i) =>
      r ? [] : [{ path: `${field}[${i}]`, message: 'no deployment with this id in your workspace' }],
    );
    if (issues.length) throw new InputIssuesException(issues);
    const loaded = await Promise.all(
      rows.map(async (deployment, i) => {
        const { docs, issues: missing } = await this.specs.deploymentDocs(
          ws,
          deployment!.spec,
          `${field}[${i}].`,
        );
        issues.push(...missing);
        return { deployment: deployment!, docs };
      }),
    );
    if (issues.length) throw new InputIssuesException(issues);
    return loaded;
  }
}
