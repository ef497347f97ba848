import { ApiKeyEntity } from './api-key.entity';
import { CalibrationEntity } from './calibration.entity';
import { CapacityPlanEntity, CapacityPointEntity } from './capacity-plan.entity';
import { DeploymentEntity } from './deployment.entity';
import { FusionConfigEntity } from './fusion-config.entity';
import { FusionProfileEntity } from './fusion-profile.entity';
import { IdempotencyKeyEntity } from './idempotency-key.entity';
import { JobEntity } from './job.entity';
import { KvSampleEntity } from './kv-sample.entity';
import { ModelConfigEntity } from './model-config.entity';
import { ProjectionEntity } from './projection.entity';
import { TraceEntity } from './trace.entity';
import { WorkloadProfileEntity } from './workload-profile.entity';
import { WorkspaceEntity } from './workspace.entity';

export {
  ApiKeyEntity,
  CalibrationEntity,
  CapacityPlanEntity,
  CapacityPointEntity,
  DeploymentEntity,
  FusionConfigEntity,
  FusionProfileEntity,
  IdempotencyKeyEntity,
  JobEntity,
  KvSampleEntity,
  ModelConfigEntity,
  ProjectionEntity,
  TraceEntity,
  WorkloadProfileEntity,
  WorkspaceEntity,
};

/** Every entity, for DataSource options. */
export const ENTITIES = [
  WorkspaceEntity,
  ApiKeyEntity,
  TraceEntity,
  WorkloadProfileEntity,
  DeploymentEntity,
  FusionConfigEntity,
  KvSampleEntity,
  JobEntity,
  ProjectionEntity,
  CapacityPlanEntity,
  CapacityPointEntity,
  FusionProfileEntity,
  IdempotencyKeyEntity,
  ModelConfigEntity,
  CalibrationEntity,
];
