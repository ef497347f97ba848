import { parentPort, workerData } from 'node:worker_threads';
import { InputError, resolveSimulationSpec, runSimulation, simulate } from '@kvplan/sim';
import { chartProbes, runCharts, withSeries } from './projection-charts';
import type { SimThreadInput, SimThreadMessage } from './sim-runner';

// Runs inside a worker thread: the simulation is synchronous CPU work, and here it cannot delay
// the main thread's BullMQ lock renewals.
function post(msg: SimThreadMessage): void {
  parentPort!.postMessage(msg);
}

const input = workerData as SimThreadInput;
try {
  const resolved = resolveSimulationSpec(input.spec, { fileName: 'spec', baseDir: input.baseDir });
  if (input.charts) {
    // The main run takes most of the time; the sweeps run on a sample and share the last 20 %.
    const spec = withSeries(resolved);
    const run = simulate(spec, {
      onProgress: (fraction) => post({ type: 'progress', fraction: 0.8 * fraction }),
    });
    const probes = chartProbes(spec);
    let done = 0;
    const charts = runCharts(spec, run, () =>
      post({ type: 'progress', fraction: 0.8 + (0.2 * ++done) / probes }),
    );
    const { timeseries: _ts, ...result } = run.result;
    post({ type: 'result', result: { ...(result as unknown as Record<string, unknown>), charts } });
  } else {
    const result = runSimulation(resolved, {
      onProgress: (fraction) => post({ type: 'progress', fraction }),
    });
    post({ type: 'result', result: result as unknown as Record<string, unknown> });
  }
} catch (err) {
  if (err instanceof InputError) post({ type: 'input-error', issues: err.issues });
  else post({ type: 'error', message: err instanceof Error ? err.message : String(err) });
}
