import 'reflect-metadata';
import { DataSource } from 'typeorm';
import { dataSourceOptions } from '@kvplan/db';
import { MIGRATIONS } from './migrations';

/** A DataSource that knows the migrations (the apps' DataSources do not: apps never migrate). */
export function migrationDataSource(url: string): DataSource {
  return new DataSource(
    dataSourceOptions({ url, applicationName: 'kvplan-migrate', poolSize: 2 }, { migrations: MIGRATIONS }),
  );
}

/** Runs every pending migration, each in its own transaction. Returns the names it ran. */
export async function migrate(url: string): Promise<string[]> {
  const ds = migrationDataSource(url);
  await ds.initialize();
  try {
    const ran = await ds.runMigrations({ transaction: 'each' });
    return ran.map((m) => m.name);
  } finally {
    await ds.destroy();
  }
}

/**
 * Drops and creates the database named in `url` (tests use their own database per project,
 * e.g. kvplan_test_api). The name is checked, then quoted: it never comes from a request.
 */
export async function recreateDatabase(url: string): Promise<void> {
  const target = new URL(url);
  const name = decodeURIComponent(target.pathname.slice(1));
  if (!/^[a-z_][a-z0-9_]{0,62}$/.test(name)) throw new Error(`refusing to recreate database "${name}"`);
  const admin = new URL(url);
  admin.pathname = '/postgres';
  const ds = new DataSource({ type: 'postgres', url: admin.toString(), entities: [], extra: { max: 1 } });
  await ds.initialize();
  try {
    await ds.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
    await ds.query(`CREATE DATABASE "${name}"`);
  } finally {
    await ds.destroy();
  }
}

/**
 * Test database URL for a project: KVPLAN_TEST_PG (server URL) + a per-project database name, with
 * KVPLAN_TEST_DB_SUFFIX appended so two checkouts can run their suites against one server at once.
 */
export function testDatabaseUrl(dbName: string): string {
  const base = new URL(process.env.KVPLAN_TEST_PG ?? 'postgres://postgres@127.0.0.1:5432/postgres');
  base.pathname = `/${dbName}${process.env.KVPLAN_TEST_DB_SUFFIX ?? ''}`;
  return base.toString();
}
