export * from './entities';
export { dataSourceOptions, type DbConfig } from './data-source-options';
export { API_KEY_PREFIX, generateApiKey, hashApiKey } from './api-keys';
export { likePattern, type Page, type PageQuery } from './repositories/paging';
export {
  NamedSpecRepository,
  WorkloadProfileRepository,
  DeploymentRepository,
  FusionConfigRepository,
  ModelConfigRepository,
  CalibrationRepository,
  type NamedSpecInput,
} from './repositories/named-spec.repository';
export { WorkspaceRepository, type CreatedKey } from './repositories/workspace.repository';
export { JobRepository } from './repositories/job.repository';
export { ProjectionRepository, type NewProjection } from './repositories/projection.repository';
export { CapacityPlanRepository, type NewCapacityPlan } from './repositories/capacity-plan.repository';
export { FusionProfileRepository } from './repositories/fusion-profile.repository';
export { TraceRepository, KvSampleRepository } from './repositories/upload.repository';
export { IdempotencyRepository, type ClaimOutcome } from './repositories/idempotency.repository';
export {
  DashboardRepository,
  type FusionProfileRow,
  type JobRow,
  type ProjectionSummaryRow,
} from './repositories/dashboard.repository';
export { RetentionRepository, type RetentionOutcome } from './repositories/retention.repository';
export { DeploymentDocsRepository } from './repositories/deployment-docs.repository';
