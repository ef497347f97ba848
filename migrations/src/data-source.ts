// The DataSource the TypeORM migration CLI loads (`npm run migration:generate -w migrations -- src/migrations/Name`).
import 'reflect-metadata';
import { DataSource } from 'typeorm';
import { dataSourceOptions } from '@kvplan/db';
import { MIGRATIONS } from './migrations';

const url = process.env.DATABASE_URL;
if (!url) throw new Error('DATABASE_URL is not set (e.g. postgres://postgres@127.0.0.1:5432/kvplan)');

export default new DataSource(
  dataSourceOptions({ url, applicationName: 'kvplan-migrate' }, { migrations: MIGRATIONS }),
);
