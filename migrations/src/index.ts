export { MIGRATIONS } from './migrations';
export { migrate, migrationDataSource, recreateDatabase, testDatabaseUrl } from './database';
