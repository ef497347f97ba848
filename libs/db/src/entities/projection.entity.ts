import { Column, Entity, Index, JoinColumn, ManyToOne } from 'typeorm';
import { DeploymentEntity } from './deployment.entity';
import { FusionConfigEntity } from './fusion-config.entity';
import { JobEntity } from './job.entity';
import { ScopedRow } from './scoped';
import { WorkloadProfileEntity } from './workload-profile.entity';

/**
 * One projection: the simulation spec as it was when asked for (a snapshot, so later edits of
 * the profile do not change what this run computes) and, once the job is done, its result.
 */
@Entity({ name: 'projections' })
@Index('idx_projections_workspace_created', ['workspaceId', 'createdAt'])
export class ProjectionEntity extends ScopedRow {
  @Column({ name: 'workload_profile_id', type: 'uuid', nullable: true })
  workloadProfileId!: string | null;

  @ManyToOne(() => WorkloadProfileEntity, { onDelete: 'SET NULL' })
  @JoinColumn({ name: 'workload_profile_id' })
  workloadProfile?: WorkloadProfileEntity;

  @Column({ name: 'deployment_id', type: 'uuid', nullable: true })
  deploymentId!: string | null;

  @ManyToOne(() => DeploymentEntity, { onDelete: 'SET NULL' })
  @JoinColumn({ name: 'deployment_id' })
  deployment?: DeploymentEntity;

  @Column({ name: 'fusion_config_id', type: 'uuid', nullable: true })
  fusionConfigId!: string | null;

  @ManyToOne(() => FusionConfigEntity, { onDelete: 'SET NULL' })
  @JoinColumn({ name: 'fusion_config_id' })
  fusionConfig?: FusionConfigEntity;

  @Column({ name: 'job_id', type: 'uuid' })
  jobId!: string;

  @ManyToOne(() => JobEntity, { onDelete: 'CASCADE' })
  @JoinColumn({ name: 'job_id' })
  job?: JobEntity;

  /** The simulation spec object (before resolution), with trace paths relative to storage. */
  @Column({ type: 'jsonb' })
  spec!: Record<string, unknown>;

  @Column({ type: 'jsonb', nullable: true })
  result!: Record<string, unknown> | null;

  @Column({ name: 'result_at', type: 'timestamptz', nullable: true })
  resultAt!: Date | null;
}
