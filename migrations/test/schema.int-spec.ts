import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DataSource } from 'typeorm';
import { dataSourceOptions } from '@kvplan/db';
import { MIGRATIONS, migrate, migrationDataSource, recreateDatabase, testDatabaseUrl } from '../src';

// CI's drift check: all migrations on an empty database, then the entities must need no change.
const url = testDatabaseUrl('kvplan_test_migrations');

describe('migrations', () => {
  beforeAll(async () => {
    await recreateDatabase(url);
  });

  let ds: DataSource | undefined;
  afterAll(async () => {
    await ds?.destroy();
  });

  it('run on an empty database and leave no drift between entities and schema', async () => {
    const ran = await migrate(url);
    expect(ran).toEqual(MIGRATIONS.map((m) => m.name));
    ds = new DataSource(dataSourceOptions({ url, poolSize: 2 }));
    await ds.initialize();
    const pending = await ds.driver.createSchemaBuilder().log();
    expect(pending.upQueries.map((q) => q.query)).toEqual([]);
  });

  it('are a no-op when run again', async () => {
    expect(await migrate(url)).toEqual([]);
  });

  it('revert completely (every down reverses its up)', async () => {
    const mds = migrationDataSource(url);
    await mds.initialize();
    try {
      for (let i = 0; i < MIGRATIONS.length; i++) await mds.undoLastMigration({ transaction: 'each' });
      const tables = await mds.query(
        "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' AND table_name <> 'typeorm_migrations'",
      );
      expect(tables).toEqual([]);
    } finally {
      await mds.destroy();
    }
    // and up again, so the database is left migrated
    expect(await migrate(url)).toHaveLength(MIGRATIONS.length);
  });
});
