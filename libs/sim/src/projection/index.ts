export * from './charts';
export * from './result';
