import * as os from 'node:os';
import * as path from 'node:path';
import { InputError, planThreads } from '@kvplan/core';

/**
 * The cores this process may use: the size of its one thread pool (libs/core's planThreads:
 * threads x kernel threads <= cores), for the capacity sweeps, the fusion layer threads and the
 * similarity kernel alike. KVPLAN_THREADS (a positive integer) caps it; unset:
 * os.availableParallelism().
 */
export function processCores(): number {
  const raw = process.env.KVPLAN_THREADS;
  if (raw === undefined || raw === '') return os.availableParallelism();
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1)
    throw new InputError([{ path: 'KVPLAN_THREADS', message: `expected a positive integer, got "${raw}"` }]);
  return n;
}

/** Threads for `tasks` independent pieces of work (sweep rows, layers): planThreads on processCores. */
export function threadsFor(tasks: number): number {
  return planThreads(processCores(), tasks).workers;
}

/**
 * The `eval` script that starts the worker-thread entry `<name>.thread.ts` of cli/src: the bundled
 * `<name>.thread.js` beside the running code when running from the bundle, else the TypeScript
 * source run through tsx inside the thread.
 */
export function threadEntry(name: string): string {
  const fromSources = __filename.endsWith('.ts');
  const file = path.join(__dirname, `${name}.thread.${fromSources ? 'ts' : 'js'}`);
  const register = fromSources
    ? `require('tsx/cjs/api').register({ tsconfig: ${JSON.stringify(path.join(__dirname, '..', 'tsconfig.json'))} });`
    : '';
  return `${register} require(${JSON.stringify(file)});`;
}
