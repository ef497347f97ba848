import { Column, Entity, Index, JoinColumn, ManyToOne } from 'typeorm';
import { NamedSpecRow } from './scoped';
import { TraceEntity } from './trace.entity';

/**
 * A workload: the `workload` part of a simulation spec (a generator, or `traceId` for a stored
 * trace) as JSON.
 */
@Entity({ name: 'workload_profiles' })
@Index('idx_workload_profiles_workspace_created', ['workspaceId', 'createdAt'])
export class WorkloadProfileEntity extends NamedSpecRow {
  @Column({ type: 'jsonb' })
  spec!: Record<string, unknown>;

  /** A stored trace this workload replays; a trace in use cannot be deleted. */
  @Column({ name: 'trace_id', type: 'uuid', nullable: true })
  traceId!: string | null;

  @ManyToOne(() => TraceEntity, { onDelete: 'RESTRICT' })
  @JoinColumn({ name: 'trace_id' })
  trace?: TraceEntity;
}
