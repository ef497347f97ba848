/**
 * @kvplan/core: the small kernel under libs/sim, libs/fusion and libs/model (and the only lib the
 * browser dashboard imports code from). It imports nothing.
 */
export * from './errors';
export * from './fields';
export * from './rng';
export { nelderMead } from './nelder-mead';
export * from './fusion-profile';
export * from './match';
export * from './metrics';
export * from './pareto';
export * from './tradeoff';
export * from './safetensors';
export * from './kv-header';
export * from './projection';
export {
  MIN_LAYER_ELEMENTS_PER_THREAD,
  planThreads,
  type ThreadPlan,
  type ThreadWork,
} from './thread-policy';
