export * from './types';
export * from './core/errors';
export { Rng } from './core/rng';
