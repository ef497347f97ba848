import type { DataSourceOptions } from 'typeorm';
import { ENTITIES } from './entities';

export interface DbConfig {
  /** postgres://user@host:port/database */
  url: string;
  /** Log every query (debugging only). */
  logging?: boolean;
  /** Pool size (pg's `max`). */
  poolSize?: number;
  applicationName?: string;
  /** Give up connecting after this long (pg's connectionTimeoutMillis; default: wait). */
  connectTimeoutMs?: number;
}

/**
 * DataSource options shared by the api, the worker, the migration CLI and the tests.
 * `synchronize` is false everywhere: the schema only changes through migrations (migrations/).
 */
export function dataSourceOptions(
  config: DbConfig,
  extra: { migrations?: DataSourceOptions['migrations'] } = {},
): DataSourceOptions {
  return {
    type: 'postgres',
    url: config.url,
    entities: ENTITIES,
    migrations: extra.migrations ?? [],
    migrationsTableName: 'typeorm_migrations',
    synchronize: false,
    migrationsRun: false,
    logging: config.logging ?? false,
    applicationName: config.applicationName ?? 'kvplan',
    extra: {
      max: config.poolSize ?? 10,
      ...(config.connectTimeoutMs !== undefined && { connectionTimeoutMillis: config.connectTimeoutMs }),
    },
  };
}
