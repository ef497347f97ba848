import { parentPort } from 'node:worker_threads';
import { InputError } from '@kvplan/core';
import { answerRow, answerTargetRate, resolveSimulationSpec, simulateRun } from '@kvplan/sim';
import { StopRequested, jobThread } from '../thread-stop';
import type { SimThreadInput, SimThreadMessage } from './sim-runner';

// Runs inside a worker thread: the simulation is synchronous CPU work, and here it cannot delay
// the main thread's BullMQ lock renewals.
function post(msg: SimThreadMessage): void {
  parentPort!.postMessage(msg);
}

const { input, checkpoint } = jobThread<SimThreadInput>();

/** Simulator events between two looks at the stop flag (an atomic load: cheap, but not free). */
const CHECK_EVERY = 4096;

/** Thrown from the simulator's event hook when the run used up its work budget. */
class BudgetExceeded extends Error {}
let events = 0;
const onEvent = (): void => {
  if ((events & (CHECK_EVERY - 1)) === 0) checkpoint();
  if (++events > input.maxEvents)
    throw new BudgetExceeded(
      `${input.answer ? 'capacity search' : 'simulation'} stopped: it used up its work budget of ` +
        `${input.maxEvents.toLocaleString('en-US')} simulator events ` +
        `(SIM_MAX_EVENTS${input.answer ? ' x its runs' : ''}); simulate fewer requests or a shorter workload`,
    );
};

try {
  const spec = resolveSimulationSpec(input.spec, {
    fileName: 'spec',
    baseDir: input.baseDir,
    fusionProfile: input.fusionProfile,
    // The storage root's own files only: the stored trace (a stored profile comes as an object).
    files: ['trace'],
  });
  const task = input.answer;
  if (task) {
    const answer = answerRow(spec, task.slo, task.config, answerTargetRate(spec, task.targetRate), {
      maxReplicas: task.maxReplicas,
      onEvent,
      onProbe: (_p, probes, maxProbes) => post({ type: 'progress', fraction: 0.9 * (probes / maxProbes) }),
    });
    post({ type: 'result', answer });
  } else {
    const run = simulateRun(spec, {
      charts: input.charts,
      onProgress: (fraction) => post({ type: 'progress', fraction }),
      onEvent,
    });
    post({ type: 'result', run });
  }
} catch (err) {
  if (err instanceof StopRequested) post({ type: 'stopped' });
  else if (err instanceof InputError) post({ type: 'input-error', issues: err.issues });
  else if (err instanceof BudgetExceeded) post({ type: 'limit', message: err.message });
  else post({ type: 'error', message: err instanceof Error ? err.message : String(err) });
}
