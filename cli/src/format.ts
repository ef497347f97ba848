import type { ResolvedSpec, SimulationResult, SloCheck, SloSpec, Verification } from '@kvplan/sim';
import { gpusPerReplica, sloChecks } from '@kvplan/sim';

const f = (v: number | undefined, d = 1) => (v === undefined || !Number.isFinite(v) ? '-' : v.toFixed(d));

/** `$1.234`, or `-` when there is no price. */
export const money = (v: number | null | undefined): string =>
  v === null || v === undefined || !Number.isFinite(v) ? '-' : `$${v.toFixed(3)}`;

/**
 * Attention-output relative error in percent: the one unit kvplan prints it in (`fuse` and `plan`;
 * --json keeps the fraction).
 */
export const attentionPercent = (x: number | null | undefined): string =>
  x === null || x === undefined || !Number.isFinite(x) ? '-' : `${(x * 100).toFixed(2)} %`;

/** A latency to three significant digits at most one decimal: 823, 55.9, 4.2. */
const ms = (v: number) => (!Number.isFinite(v) ? '-' : Math.abs(v) >= 100 ? v.toFixed(0) : v.toFixed(1));

/** A replica's parallel layout: `TP4`, `TP1 x DP8 EP`. */
export function layout(
  spec: Pick<ResolvedSpec, 'tensorParallel' | 'pipelineParallel' | 'dataParallel' | 'expertParallel'>,
): string {
  const pp = spec.pipelineParallel ?? 1;
  return (
    `TP${spec.tensorParallel}${pp > 1 ? ` x PP${pp}` : ''}${spec.dataParallel > 1 ? ` x DP${spec.dataParallel}` : ''}` +
    `${spec.expertParallel ? ' EP' : ''}`
  );
}

/** `meta-llama/Llama-3.1-70B, 1 replica x TP4 (4 GPUs, NVIDIA H100 ...)`. */
export function deploymentLine(spec: ResolvedSpec, replicas = spec.replicas): string {
  const gpus = replicas * gpusPerReplica(spec);
  return (
    `${spec.model.id}, ${replicas} ${replicas === 1 ? 'replica' : 'replicas'} x ${layout(spec)} ` +
    `(${gpus} ${gpus === 1 ? 'GPU' : 'GPUs'}, ${spec.gpu.name})`
  );
}

/** Whether fusion is on, and whether its profile was measured or is the parametric default. */
export function fusionLine(spec: ResolvedSpec): string {
  const fu = spec.fusion;
  if (!fu) return 'fusion: off';
  const p = fu.profile;
  const source =
    p === null || p.source === 'parametric'
      ? 'parametric profile (no measured profile given: a default rate-distortion model)'
      : `measured profile (${p.source}${p.model ? `, ${p.model}` : ''})`;
  return `fusion: ${fu.mode.toUpperCase()} at threshold ${fu.threshold}, ${source}`;
}

/** `p99 TTFT 823/2000 ms ok, p99 TPOT 55.9/80 ms ok`. */
export function sloLine(checks: SloCheck[]): string {
  return checks.map((c) => `${c.label} ${ms(c.value)}/${c.limit} ms ${c.ok ? 'ok' : 'MISSED'}`).join(', ');
}

/** `p99 TTFT <= 2000 ms, p99 TPOT <= 80 ms`. */
export function sloTargets(slo: SloSpec): string {
  return sloChecks({}, slo)
    .map((c) => `${c.label} <= ${c.limit} ms`)
    .join(', ');
}

/** The verifying simulation behind a capacity answer, with its interval over seeds. */
export function verificationLine(v: Verification): string {
  const iv = (m: string) => {
    const i = v.metrics[m];
    return i.sigma > 0 ? ` [${ms(i.low)}, ${ms(i.high)}]` : '';
  };
  const slo = v.slo
    .map((c) => `${c.label} ${ms(c.value)}${iv(c.metric)}/${c.limit} ms ${c.ok ? 'ok' : 'MISSED'}`)
    .join(', ');
  const seeds =
    v.seeds.length > 1
      ? `seeds ${v.seeds[0]}-${v.seeds[v.seeds.length - 1]}, 90 % interval: calibration residuals and seeds`
      : `seed ${v.seeds[0]}, 90 % interval from calibration residuals`;
  return (
    `verified by simulation: ${v.replicas} ${v.replicas === 1 ? 'replica' : 'replicas'} (${v.gpus} GPUs) at ${v.rate.toPrecision(4)} req/s (${seeds}): ` +
    `${slo}; ${v.meets ? 'meets the SLOs' : `MISSES the SLOs (${v.violations.join('; ')})`}`
  );
}

/** The human-readable summary of a simulation result. */
export function formatResultTable(r: SimulationResult, spec: ResolvedSpec, slo?: SloSpec | null): string {
  const lines: string[] = [];
  lines.push(
    `${deploymentLine(spec)}: ${spec.engine.numGpuBlocks} KV blocks of ${spec.engine.blockSize} per ${spec.dataParallel > 1 ? 'data-parallel rank' : 'replica'}, calibration ${spec.timeModel.name}`,
  );
  lines.push(fusionLine(spec));
  lines.push(`calibrated   ${r.meta.calibrated}, ${r.meta.serving_calibrated}`);
  const moe = r.meta.moe;
  if (moe)
    lines.push(
      `MoE          ${moe.expert_parallel ? `expert-parallel over ${moe.expert_ranks} GPUs, ${moe.experts_per_rank} experts each` : `experts sliced over ${moe.expert_ranks} GPUs`}; ` +
        `${f(moe.moe_share_of_step_time * 100, 0)} % of step time, ${f(moe.mean_tokens_per_step, 0)} tokens a step; ` +
        `load imbalance ${moe.load_imbalance} costs ${f(moe.imbalance_ms_per_step, 2)} ms a step`,
    );
  lines.push('');
  lines.push(`requests     completed ${r.completed}, failed ${r.failed}, duration ${f(r.duration, 2)} s`);
  lines.push(
    `throughput   ${f(r.request_throughput, 2)} req/s, ${f(r.output_throughput, 0)} output tok/s, ${f(r.total_token_throughput, 0)} total tok/s` +
      (r.request_goodput !== undefined ? `, goodput ${f(r.request_goodput, 2)} req/s` : ''),
  );
  const s = slo ?? spec.slo;
  if (s) lines.push(`SLOs         ${sloLine(sloChecks(r, s))}`);
  lines.push('');
  // The one interval policy (libs/sim's projectionInterval: calibration residuals of this GPU's
  // class combined with the spread over seeds), shown beside each latency's p99 and mean.
  const iv = r.intervals;
  const span = (k: string) => (iv?.metrics[k] ? `[${f(iv.metrics[k][0])}, ${f(iv.metrics[k][1])}]` : '');
  lines.push(
    `latency (ms)     mean   median      p90      p99${iv ? `    (${Math.round(iv.level * 100)} % intervals: mean, p99)` : ''}`,
  );
  for (const m of ['ttft', 'tpot', 'itl', 'e2el'] as const) {
    const g = (s: string) => f((r as unknown as Record<string, number>)[`${s}_${m}_ms`]).padStart(8);
    const both = iv ? `    ${span(`mean_${m}_ms`)} ${span(`p99_${m}_ms`)}` : '';
    lines.push(
      `  ${m.toUpperCase().padEnd(6)}     ${g('mean')} ${g('median')} ${g('p90')} ${g('p99')}${both}`,
    );
  }
  lines.push('');
  lines.push(
    `KV cache     peak ${r.kv_peak_used_blocks} of ${r.kv_blocks_total} blocks, mean used ${f(r.kv_mean_used_fraction * 100)} %, ` +
      `preemptions ${r.preemptions}, mean batch ${f(r.mean_batch_size)}`,
  );
  if (r.cost_per_million_output_tokens_usd !== undefined)
    lines.push(`cost         ${money(r.cost_per_million_output_tokens_usd)} per million output tokens`);
  if (r.fusion)
    lines.push(
      `fusion       ${f(r.fusion.blocks_freed, 0)} blocks freed, fused fraction ${f(r.fusion.fused_fraction * 100)} %, overhead ${f(r.fusion.overhead_s, 2)} s`,
    );
  if (r.kv_offload)
    lines.push(
      `CPU offload  ${r.kv_offload.cpu_blocks} CPU blocks, ${f(r.kv_offload.cpu_hit_tokens, 0)} prompt tokens loaded instead of recomputed ` +
        `(${f(r.kv_offload.loads, 0)} loads, ${f(r.kv_offload.load_s, 3)} s over PCIe)`,
    );
  if (r.pipeline)
    lines.push(
      `pipeline     ${r.pipeline.stages} stages, bubbles ${f(r.pipeline.bubble_fraction * 100)} % of stage time, ` +
        `${f(r.pipeline.transfer_s, 3)} s of stage-to-stage transfers`,
    );
  return lines.join('\n') + '\n';
}
