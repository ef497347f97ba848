import { Column, Entity, Index } from 'typeorm';
import { NamedSpecRow } from './scoped';

/** A Hugging Face config.json a workspace uploaded (the keys kvplan reads), for deployments to name by id. */
@Entity({ name: 'model_configs' })
@Index('idx_model_configs_workspace_created', ['workspaceId', 'createdAt'])
export class ModelConfigEntity extends NamedSpecRow {
  @Column({ type: 'jsonb' })
  spec!: Record<string, unknown>;
}
