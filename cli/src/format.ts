import type { ResolvedSpec, SimulationResult } from '@kvplan/sim';

const f = (v: number | undefined, d = 1) => (v === undefined || !Number.isFinite(v) ? '-' : v.toFixed(d));

/** The human-readable summary of a simulation result. */
export function formatResultTable(r: SimulationResult, spec: ResolvedSpec): string {
  const lines: string[] = [];
  lines.push(
    `${spec.model.id} on ${spec.replicas} x ${spec.tensorParallel} ${spec.gpu.name} ` +
      `(${spec.engine.numGpuBlocks} KV blocks of ${spec.engine.blockSize} per replica, calibration: ${spec.timeModel.name})`,
  );
  lines.push('');
  lines.push(`requests     completed ${r.completed}, failed ${r.failed}, duration ${f(r.duration, 2)} s`);
  lines.push(
    `throughput   ${f(r.request_throughput, 2)} req/s, ${f(r.output_throughput, 0)} output tok/s, ${f(r.total_token_throughput, 0)} total tok/s` +
      (r.request_goodput !== undefined ? `, goodput ${f(r.request_goodput, 2)} req/s` : ''),
  );
  lines.push('');
  lines.push('latency (ms)     mean   median      p90      p99');
  for (const m of ['ttft', 'tpot', 'itl', 'e2el'] as const) {
    const g = (s: string) => f((r as unknown as Record<string, number>)[`${s}_${m}_ms`]).padStart(8);
    lines.push(`  ${m.toUpperCase().padEnd(6)}     ${g('mean')} ${g('median')} ${g('p90')} ${g('p99')}`);
  }
  lines.push('');
  lines.push(
    `KV cache     peak ${r.kv_peak_used_blocks} of ${r.kv_blocks_total} blocks, mean used ${f(r.kv_mean_used_fraction * 100)} %, ` +
      `preemptions ${r.preemptions}, mean batch ${f(r.mean_batch_size)}`,
  );
  if (r.cost_per_million_output_tokens_usd !== undefined)
    lines.push(`cost         $${f(r.cost_per_million_output_tokens_usd, 3)} per million output tokens`);
  if (r.fusion)
    lines.push(
      `fusion       ${f(r.fusion.blocks_freed, 0)} blocks freed, fused fraction ${f(r.fusion.fused_fraction * 100)} %, overhead ${f(r.fusion.overhead_s, 2)} s`,
    );
  return lines.join('\n') + '\n';
}
