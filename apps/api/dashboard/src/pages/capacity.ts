import { api } from '../api';
import {
  failurePanel,
  fmt,
  fmtMs,
  h,
  progressBar,
  shortId,
  statusBadge,
  statusCell,
  table,
  timeAgo,
} from '../dom';
import { capacityOption, sloTerm } from '../options';
import type { CapacityPlan, Page } from '../types';
import { chartGrid, pageHeader, type PageContext } from './page';

const MODE_TEXT: Record<string, string> = {
  'max-rate': 'highest rate multiple meeting the SLO',
  'min-gpus': 'fewest replicas meeting the SLO',
  pareto: 'goodput across fusion thresholds',
};

function answerText(plan: CapacityPlan): string {
  const r = plan.result;
  if (!r) return '–';
  if (r.mode === 'pareto') return `${r.front?.length ?? 0} thresholds on the front`;
  const a = r.answer;
  if (!a) return 'none meets the SLO';
  if (r.mode === 'max-rate') return `${fmt(a.rateScale)}x the workload rate`;
  return `${a.replicas} replicas (${'gpus' in a ? a.gpus : '?'} GPUs)`;
}

export async function renderCapacityPlans(ctx: PageContext): Promise<void> {
  const list = await api<Page<CapacityPlan>>('GET', '/capacity-plans?limit=50');
  if (!ctx.isCurrent()) return;
  ctx.main.append(
    pageHeader('Capacity plans', h('span', { class: 'muted' }, `${list.total} in this workspace`)),
    h(
      'section',
      { class: 'panel' },
      list.items.length
        ? table(
            ['id', 'created', 'mode', 'points', 'status', 'answer'],
            list.items.map((p) => [
              h('a', { href: `#/capacity-plans/${p.id}`, class: 'mono' }, shortId(p.id)),
              timeAgo(p.createdAt),
              p.mode,
              String(p.points.length),
              statusCell(p.job?.status ?? p.status, p.job?.progress ?? 0, p.job?.error),
              answerText(p),
            ]),
            { id: 'capacity-table' },
          )
        : h('p', { class: 'muted' }, 'No capacity plans yet (POST /api/v1/capacity-plans, see /docs).'),
    ),
  );
}

export async function renderCapacityPlan(ctx: PageContext, id: string): Promise<void> {
  const plan = await api<CapacityPlan>('GET', `/capacity-plans/${id}`);
  if (!ctx.isCurrent()) return;
  const term = sloTerm(plan.slo);
  ctx.main.append(
    pageHeader(`Capacity plan ${shortId(plan.id)}`, statusBadge(plan.status)),
    h(
      'p',
      { class: 'lead' },
      `${plan.mode}: ${MODE_TEXT[plan.mode] ?? ''}. `,
      term ? `SLO: ${term.label} ${term.quantile} ≤ ${fmt(term.boundMs)} ms. ` : 'No SLO. ',
      h('strong', {}, `Answer: ${answerText(plan)}`),
    ),
  );
  if (!plan.result) {
    ctx.main.append(
      plan.job?.status === 'failed'
        ? failurePanel(plan.job)
        : h('section', { class: 'panel' }, progressBar(plan.job?.progress ?? 0, plan.status ?? undefined)),
    );
    return;
  }
  chartGrid(ctx.main, [
    {
      name: 'capacity-sweep',
      title: 'Sweep: throughput (points green when they meet the SLO) and p99 TTFT',
      option: capacityOption(plan),
      wide: true,
      height: 360,
    },
  ]);
  const key = plan.mode === 'max-rate' ? 'rateScale' : plan.mode === 'min-gpus' ? 'replicas' : 'threshold';
  ctx.main.append(
    h(
      'section',
      { class: 'panel' },
      table(
        [key, 'meets SLO', 'req/s', 'goodput', 'tok/s', 'p99 TTFT', 'p99 TPOT', 'preemptions'],
        plan.result.points.map((r) => [
          r[key] === null ? 'no fusion' : String(r[key]),
          r.meetsSlo ? h('span', { class: 'ok' }, 'yes') : h('span', { class: 'bad' }, 'no'),
          fmt(r.request_throughput as number),
          fmt(r.request_goodput as number),
          fmt(r.output_throughput as number),
          fmtMs(r.p99_ttft_ms as number),
          fmtMs(r.p99_tpot_ms as number),
          fmt(r.preemptions as number),
        ]),
      ),
    ),
  );
}
