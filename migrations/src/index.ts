export { MIGRATIONS } from './migrations';
export { migrate, migrationDataSource, recreateDatabase, testDatabaseUrl } from './database';
export { requireTestServices } from './test-services';
