import { Column, Entity, Index } from 'typeorm';
import { NamedSpecRow } from './scoped';

/** A fusion configuration (mode, thresholds, batch sizes or window, scope), as JSON. */
@Entity({ name: 'fusion_configs' })
@Index('idx_fusion_configs_workspace_created', ['workspaceId', 'createdAt'])
export class FusionConfigEntity extends NamedSpecRow {
  @Column({ type: 'jsonb' })
  spec!: Record<string, unknown>;
}
