import { Column, Entity, Index, JoinColumn, ManyToOne } from 'typeorm';
import { DeploymentEntity } from './deployment.entity';
import { FusionConfigEntity } from './fusion-config.entity';
import { JobEntity } from './job.entity';
import { ScopedRow } from './scoped';
import { WorkloadProfileEntity } from './workload-profile.entity';

/** A kvplan-fusion-profile/1 built by a fusion job for a workload under a fusion config. */
@Entity({ name: 'fusion_profiles' })
@Index('idx_fusion_profiles_lookup', ['workspaceId', 'workloadProfileId', 'fusionConfigId'])
export class FusionProfileEntity extends ScopedRow {
  @Column({ name: 'workload_profile_id', type: 'uuid' })
  workloadProfileId!: string;

  @ManyToOne(() => WorkloadProfileEntity, { onDelete: 'CASCADE' })
  @JoinColumn({ name: 'workload_profile_id' })
  workloadProfile?: WorkloadProfileEntity;

  @Column({ name: 'fusion_config_id', type: 'uuid' })
  fusionConfigId!: string;

  @ManyToOne(() => FusionConfigEntity, { onDelete: 'CASCADE' })
  @JoinColumn({ name: 'fusion_config_id' })
  fusionConfig?: FusionConfigEntity;

  /** Whose model shapes synthetic KV when neither a model nor a KV sample is available. */
  @Column({ name: 'deployment_id', type: 'uuid', nullable: true })
  deploymentId!: string | null;

  @ManyToOne(() => DeploymentEntity, { onDelete: 'SET NULL' })
  @JoinColumn({ name: 'deployment_id' })
  deployment?: DeploymentEntity;

  /** What was asked for: sample size and seed (see FusionProfileOptions in @kvplan/contracts). */
  @Column({ type: 'jsonb', default: () => "'{}'" })
  options!: Record<string, unknown>;

  /**
   * What the job did (null until built): where the KV came from and why, the sampled requests,
   * the batch sizes and thresholds measured, timings.
   */
  @Column({ type: 'jsonb', nullable: true })
  details!: Record<string, unknown> | null;

  @Column({ name: 'job_id', type: 'uuid' })
  jobId!: string;

  @ManyToOne(() => JobEntity, { onDelete: 'CASCADE' })
  @JoinColumn({ name: 'job_id' })
  job?: JobEntity;

  /** `synthetic`, `kv-sample` or `model`: where the KV cache came from. Null until built. */
  @Column({ type: 'varchar', length: 16, nullable: true })
  source!: string | null;

  @Column({ type: 'jsonb', nullable: true })
  profile!: Record<string, unknown> | null;
}
