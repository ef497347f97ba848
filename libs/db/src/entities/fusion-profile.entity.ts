import { Column, Entity, Index, JoinColumn, ManyToOne } from 'typeorm';
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
