import { Column, Entity, Index, JoinColumn, ManyToOne, PrimaryColumn } from 'typeorm';
import type { CapacityMode } from '@kvplan/contracts';
import { FusionProfileEntity } from './fusion-profile.entity';
import { JobEntity } from './job.entity';
import { ScopedRow } from './scoped';

/** A capacity question (mode + sweep) over a spec snapshot, and its aggregated answer. */
@Entity({ name: 'capacity_plans' })
@Index('idx_capacity_plans_workspace_created', ['workspaceId', 'createdAt'])
export class CapacityPlanEntity extends ScopedRow {
  @Column({ type: 'varchar', length: 16 })
  mode!: CapacityMode;

  @Column({ name: 'job_id', type: 'uuid' })
  jobId!: string;

  @ManyToOne(() => JobEntity, { onDelete: 'CASCADE' })
  @JoinColumn({ name: 'job_id' })
  job?: JobEntity;

  /**
   * The stored fusion profile every point simulates with (the latest built for the plan's
   * workload, fusion config and deployment when the plan was made); null: the simulator's
   * parametric profile.
   */
  @Column({ name: 'fusion_profile_id', type: 'uuid', nullable: true })
  fusionProfileId!: string | null;

  @ManyToOne(() => FusionProfileEntity, { onDelete: 'SET NULL' })
  @JoinColumn({ name: 'fusion_profile_id' })
  fusionProfile?: FusionProfileEntity;

  /** Base simulation spec object (snapshot). */
  @Column({ type: 'jsonb' })
  spec!: Record<string, unknown>;

  /** The sweep: one entry per point (rate, replicas, threshold), in point-index order. */
  @Column({ type: 'jsonb' })
  points!: Array<Record<string, unknown>>;

  @Column({ type: 'jsonb', nullable: true })
  slo!: Record<string, unknown> | null;

  @Column({ type: 'jsonb', nullable: true })
  result!: Record<string, unknown> | null;

  @Column({ name: 'result_at', type: 'timestamptz', nullable: true })
  resultAt!: Date | null;
}

/** The result of one sweep point. (plan, index) is the key: a point run twice writes one row. */
@Entity({ name: 'capacity_points' })
export class CapacityPointEntity {
  @PrimaryColumn({ name: 'capacity_plan_id', type: 'uuid' })
  capacityPlanId!: string;

  @PrimaryColumn({ name: 'point_index', type: 'integer' })
  pointIndex!: number;

  @ManyToOne(() => CapacityPlanEntity, { onDelete: 'CASCADE' })
  @JoinColumn({ name: 'capacity_plan_id' })
  capacityPlan?: CapacityPlanEntity;

  @Column({ type: 'jsonb' })
  result!: Record<string, unknown>;
}
