export * from './queues';
export * from './jobs';
export * from './wire';
export * from './results';
export * from './spec-compose';
