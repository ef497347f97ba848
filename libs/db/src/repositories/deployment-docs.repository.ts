import type { DataSource } from 'typeorm';
import { deploymentDocIds, type DeploymentDocRef, type SpecParts } from '@kvplan/contracts';
import { CalibrationRepository, ModelConfigRepository } from './named-spec.repository';

/** The uploaded documents a deployment names by id (model config, calibration), as the composer takes them. */
export class DeploymentDocsRepository {
  private readonly modelConfigs: ModelConfigRepository;
  private readonly calibrations: CalibrationRepository;

  constructor(dataSource: DataSource) {
    this.modelConfigs = new ModelConfigRepository(dataSource);
    this.calibrations = new CalibrationRepository(dataSource);
  }

  /** The documents found, and the reference fields whose document is not in the workspace. */
  async load(
    workspaceId: string,
    deployment: Record<string, unknown>,
  ): Promise<{ docs: NonNullable<SpecParts['docs']>; missing: DeploymentDocRef[] }> {
    const ids = deploymentDocIds(deployment);
    const [modelConfigId, calibrationId] = await Promise.all([
      ids.modelConfigId ? this.modelConfigs.get(workspaceId, ids.modelConfigId) : null,
      ids.calibrationId ? this.calibrations.get(workspaceId, ids.calibrationId) : null,
    ]);
    const docs: NonNullable<SpecParts['docs']> = {};
    const missing: DeploymentDocRef[] = [];
    if (modelConfigId) docs.modelConfigId = modelConfigId;
    else if (ids.modelConfigId) missing.push('modelConfigId');
    if (calibrationId) docs.calibrationId = calibrationId;
    else if (ids.calibrationId) missing.push('calibrationId');
    return { docs, missing };
  }
}
