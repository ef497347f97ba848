// The api in-process (Fastify inject) against the real PostgreSQL and Redis, on a database of its
// own (dropped and recreated), with workspace A's admin key.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { DataSource } from 'typeorm';
import { WorkspaceRepository, dataSourceOptions } from '@kvplan/db';
import { migrate, recreateDatabase, testDatabaseUrl } from '@kvplan/migrations';
import { createLogger } from '@kvplan/observability';
import { createApp } from '../../src/app.factory';
import { loadApiConfig } from '../../src/config/config';

export interface InProcessApi {
  app: NestFastifyApplication;
  ds: DataSource;
  workspaces: WorkspaceRepository;
  /** Workspace A and its admin key. */
  workspaceId: string;
  key: string;
  storage: string;
  close(): Promise<void>;
}

export async function inProcessApi(name: string, env: Record<string, string> = {}): Promise<InProcessApi> {
  const url = testDatabaseUrl(`kvplan_test_api_${name}`);
  const storage = fs.mkdtempSync(path.join(os.tmpdir(), `kvplan-${name}-`));
  await recreateDatabase(url);
  await migrate(url);
  const ds = await new DataSource(dataSourceOptions({ url, poolSize: 2 })).initialize();
  const workspaces = new WorkspaceRepository(ds);
  const a = await workspaces.createWorkspaceWithAdminKey('A');
  const config = loadApiConfig({
    DATABASE_URL: url,
    REDIS_URL: process.env.KVPLAN_TEST_REDIS ?? 'redis://127.0.0.1:6379',
    QUEUE_PREFIX: `kvtest-${name}-${process.pid}`,
    STORAGE_DIR: storage,
    LOG_LEVEL: 'silent',
    DOCS: 'false',
    ...env,
  });
  const app = await createApp(config, createLogger({ service: 'api', level: 'silent' }));
  await app.init();
  await app.getHttpAdapter().getInstance().ready();
  return {
    app,
    ds,
    workspaces,
    workspaceId: a.workspace.id,
    key: a.secret,
    storage,
    close: async () => {
      await app.close();
      await ds.destroy();
      fs.rmSync(storage, { recursive: true, force: true });
    },
  };
}
