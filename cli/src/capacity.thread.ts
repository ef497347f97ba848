// A worker thread of `kvplan capacity` sweeps: evaluates the configurations the parent sends, one
// at a time, and posts back each row (and a message per probe, for the progress line).
import { parentPort, workerData } from 'node:worker_threads';
import { answerRowOf, evaluateCapacity } from '@kvplan/sim';
import { resolveSpecFile } from './spec-file';
import { sweepConfig, type SweepTask, type SweepThreadData, type SweepThreadMessage } from './sweep-pool';

const data = workerData as SweepThreadData;
const port = parentPort!;
const post = (m: SweepThreadMessage) => port.postMessage(m);

port.on('message', (task: SweepTask) => {
  try {
    const spec = resolveSpecFile(data.spec, task.over);
    const ev = evaluateCapacity(spec, data.slo, task.label, {
      ...data.opts,
      onProbe: (_p, probes, maxProbes) => post({ type: 'probe', index: task.index, probes, maxProbes }),
    });
    const target = data.opts.targetRate;
    const row =
      target === undefined
        ? null
        : answerRowOf(spec, data.slo, sweepConfig(task), target, ev, data.opts.maxReplicas);
    post({ type: 'done', index: task.index, point: ev.point, row });
  } catch (err) {
    post({ type: 'error', index: task.index, message: (err as Error)?.message ?? String(err) });
  }
});
