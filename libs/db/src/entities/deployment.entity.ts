import { Column, Entity, Index } from 'typeorm';
import { NamedSpecRow } from './scoped';

/** A deployment: model, GPU, parallelism and engine settings of a simulation spec, as JSON. */
@Entity({ name: 'deployments' })
@Index('idx_deployments_workspace_created', ['workspaceId', 'createdAt'])
export class DeploymentEntity extends NamedSpecRow {
  @Column({ type: 'jsonb' })
  spec!: Record<string, unknown>;
}
