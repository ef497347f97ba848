import { Column, Entity, Index, JoinColumn, ManyToOne } from 'typeorm';
import { bigintNumber } from './columns';
import { ScopedRow } from './scoped';
import { WorkloadProfileEntity } from './workload-profile.entity';

/** An uploaded `kvplan-kv/1` safetensors file: metadata here, the file on the storage volume. */
@Entity({ name: 'kv_samples' })
@Index('idx_kv_samples_workspace_created', ['workspaceId', 'createdAt'])
export class KvSampleEntity extends ScopedRow {
  @Column({ type: 'varchar', length: 200 })
  name!: string;

  @Column({ name: 'workload_profile_id', type: 'uuid', nullable: true })
  workloadProfileId!: string | null;

  @ManyToOne(() => WorkloadProfileEntity, { onDelete: 'SET NULL' })
  @JoinColumn({ name: 'workload_profile_id' })
  workloadProfile?: WorkloadProfileEntity;

  @Column({ name: 'storage_path', type: 'text' })
  storagePath!: string;

  @Column({ name: 'size_bytes', type: 'bigint', transformer: bigintNumber })
  sizeBytes!: number;

  @Column({ type: 'char', length: 64 })
  sha256!: string;

  /** The safetensors `__metadata__` (format, block_size, seq_lens, tenants, ...). */
  @Column({ type: 'jsonb' })
  metadata!: Record<string, string>;
}
