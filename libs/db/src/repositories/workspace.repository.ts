import { randomUUID } from 'node:crypto';
import type { DataSource, Repository } from 'typeorm';
import type { Role } from '@kvplan/contracts';
import { generateApiKey, hashApiKey } from '../api-keys';
import { ApiKeyEntity } from '../entities/api-key.entity';
import { WorkspaceEntity } from '../entities/workspace.entity';

export interface CreatedKey {
  key: ApiKeyEntity;
  /** The key itself: shown once, never stored. */
  secret: string;
}

/** Workspaces and their API keys. */
export class WorkspaceRepository {
  private readonly workspaces: Repository<WorkspaceEntity>;
  private readonly keys: Repository<ApiKeyEntity>;

  constructor(private readonly dataSource: DataSource) {
    this.workspaces = dataSource.getRepository(WorkspaceEntity);
    this.keys = dataSource.getRepository(ApiKeyEntity);
  }

  createWorkspace(name: string, retentionDays: number | null = null): Promise<WorkspaceEntity> {
    return this.workspaces.save(this.workspaces.create({ id: randomUUID(), name, retentionDays }));
  }

  getWorkspace(id: string): Promise<WorkspaceEntity | null> {
    return this.workspaces.findOneBy({ id });
  }

  async updateWorkspace(
    id: string,
    patch: { name?: string; retentionDays?: number | null },
  ): Promise<WorkspaceEntity | null> {
    const row = await this.getWorkspace(id);
    if (!row) return null;
    if (patch.name !== undefined) row.name = patch.name;
    if (patch.retentionDays !== undefined) row.retentionDays = patch.retentionDays;
    return this.workspaces.save(row);
  }

  /** A new workspace with its first admin key, in one transaction. */
  async createWorkspaceWithAdminKey(
    name: string,
    keyName = 'admin',
  ): Promise<{ workspace: WorkspaceEntity } & CreatedKey> {
    return this.dataSource.transaction(async (em) => {
      const workspace = await em.save(
        em.create(WorkspaceEntity, { id: randomUUID(), name, retentionDays: null }),
      );
      const secret = generateApiKey();
      const key = await em.save(
        em.create(ApiKeyEntity, {
          id: randomUUID(),
          workspaceId: workspace.id,
          name: keyName,
          role: 'admin',
          keyHash: hashApiKey(secret),
          keyPrefix: secret.slice(0, 12),
          revokedAt: null,
        }),
      );
      return { workspace, key, secret };
    });
  }

  async createKey(workspaceId: string, name: string, role: Role): Promise<CreatedKey> {
    const secret = generateApiKey();
    const key = await this.keys.save(
      this.keys.create({
        id: randomUUID(),
        workspaceId,
        name,
        role,
        keyHash: hashApiKey(secret),
        keyPrefix: secret.slice(0, 12),
        revokedAt: null,
      }),
    );
    return { key, secret };
  }

  /** The active key with this secret, or null (unknown or revoked). */
  findActiveKey(secret: string): Promise<ApiKeyEntity | null> {
    return this.keys
      .createQueryBuilder('k')
      .where('k.key_hash = :h AND k.revoked_at IS NULL', { h: hashApiKey(secret) })
      .getOne();
  }

  listKeys(workspaceId: string): Promise<ApiKeyEntity[]> {
    return this.keys
      .createQueryBuilder('k')
      .where('k.workspace_id = :ws', { ws: workspaceId })
      .orderBy('k.created_at', 'ASC')
      .getMany();
  }

  async revokeKey(workspaceId: string, id: string): Promise<boolean> {
    const res = await this.keys
      .createQueryBuilder()
      .update()
      .set({ revokedAt: () => 'now()' })
      .where('id = :id AND workspace_id = :ws AND revoked_at IS NULL', { id, ws: workspaceId })
      .execute();
    return (res.affected ?? 0) > 0;
  }
}
