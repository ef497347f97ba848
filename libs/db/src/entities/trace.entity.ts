import { Column, Entity, Index } from 'typeorm';
import { bigintNumber } from './columns';
import { ScopedRow } from './scoped';

/** An uploaded request trace: metadata here, the file on the storage volume. */
@Entity({ name: 'traces' })
@Index('idx_traces_workspace_created', ['workspaceId', 'createdAt'])
export class TraceEntity extends ScopedRow {
  @Column({ type: 'varchar', length: 200 })
  name!: string;

  /** `csv` or `jsonl`. */
  @Column({ type: 'varchar', length: 16 })
  format!: string;

  /** Path relative to the storage root. */
  @Column({ name: 'storage_path', type: 'text' })
  storagePath!: string;

  @Column({ name: 'size_bytes', type: 'bigint', transformer: bigintNumber })
  sizeBytes!: number;

  @Column({ type: 'char', length: 64 })
  sha256!: string;

  @Column({ name: 'num_requests', type: 'integer' })
  numRequests!: number;

  /** Distinct tenant names in the trace (empty when it has no tenant column). */
  @Column({ type: 'jsonb', default: () => "'[]'" })
  tenants!: string[];
}
