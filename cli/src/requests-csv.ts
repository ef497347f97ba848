import type { SimulationRun } from '@kvplan/sim';

/** Per-request records of a run as CSV (times in ms from the request's arrival). */
export function requestsCsv(run: SimulationRun): string {
  const q = run.requests;
  const w = run.spec.workload;
  const fe = run.spec.timeModel.frontendOverheadS;
  const rows = [
    'request_id,replica,arrival_s,input_tokens,output_tokens,ttft_ms,e2el_ms,tpot_ms,preemptions,prefix_hit_tokens,status',
  ];
  const ms = (v: number) => (Number.isFinite(v) ? v.toFixed(3) : '');
  for (let r = 0; r < q.n; r++) {
    const done = Number.isFinite(q.finishS[r]);
    const ttft = (q.firstTokenS[r] - w.arrivalS[r] + fe) * 1000;
    const e2e = (q.finishS[r] - w.arrivalS[r] + fe) * 1000;
    const tpot = q.numOutput[r] > 1 ? (e2e - ttft) / (q.numOutput[r] - 1) : NaN;
    const id = w.requestIds?.[r] ?? String(r);
    rows.push(
      [
        /[",\n]/.test(id) ? `"${id.replace(/"/g, '""')}"` : id,
        q.replica[r],
        w.arrivalS[r].toFixed(6),
        w.inputTokens[r],
        q.numOutput[r],
        ms(ttft),
        ms(e2e),
        ms(tpot),
        q.preemptions[r],
        q.prefixHitTokens[r],
        done ? 'ok' : 'failed',
      ].join(','),
    );
  }
  return rows.join('\n') + '\n';
}
