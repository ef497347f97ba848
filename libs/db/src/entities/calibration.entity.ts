import { Column, Entity, Index } from 'typeorm';
import { NamedSpecRow } from './scoped';

/** A calibration profile (kvplan-gpu-profile/1, what `kvplan calibrate` writes) a workspace uploaded. */
@Entity({ name: 'calibrations' })
@Index('idx_calibrations_workspace_created', ['workspaceId', 'createdAt'])
export class CalibrationEntity extends NamedSpecRow {
  @Column({ type: 'jsonb' })
  spec!: Record<string, unknown>;
}
