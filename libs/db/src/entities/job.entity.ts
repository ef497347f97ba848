import { Column, CreateDateColumn, Entity, Index, JoinColumn, ManyToOne, PrimaryColumn } from 'typeorm';
import type { JobKind, JobStatus } from '@kvplan/contracts';
import { WorkspaceEntity } from './workspace.entity';

/**
 * A queued unit of work. Its id is the run id, which is also the BullMQ job id.
 * status: queued -> running -> succeeded | failed (a retried run goes back through running).
 */
@Entity({ name: 'jobs' })
@Index('idx_jobs_workspace_created', ['workspaceId', 'createdAt'])
@Index('idx_jobs_status', ['status'])
export class JobEntity {
  @PrimaryColumn({ type: 'uuid' })
  id!: string;

  @Column({ name: 'workspace_id', type: 'uuid' })
  workspaceId!: string;

  @ManyToOne(() => WorkspaceEntity, { onDelete: 'CASCADE' })
  @JoinColumn({ name: 'workspace_id' })
  workspace?: WorkspaceEntity;

  @Column({ type: 'varchar', length: 16 })
  kind!: JobKind;

  /** The projection, capacity plan or fusion profile this job computes. */
  @Column({ name: 'subject_id', type: 'uuid' })
  subjectId!: string;

  @Column({ type: 'varchar', length: 16, default: 'queued' })
  status!: JobStatus;

  /** 0..1. */
  @Column({ type: 'double precision', default: 0 })
  progress!: number;

  /** How many times a worker started it. */
  @Column({ type: 'integer', default: 0 })
  attempts!: number;

  @Column({ type: 'text', nullable: true })
  error!: string | null;

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt!: Date;

  @Column({ name: 'started_at', type: 'timestamptz', nullable: true })
  startedAt!: Date | null;

  @Column({ name: 'finished_at', type: 'timestamptz', nullable: true })
  finishedAt!: Date | null;
}
