import { api } from '../api';
import { CAPACITY_SWEEPS, capacityRequest } from '../bodies';
import { canWrite, field, input, named, onSubmitPost, select, sloFields } from '../forms';
import {
  failurePanel,
  fmt,
  fmtMs,
  h,
  seconds,
  shortId,
  statusBadge,
  statusCell,
  table,
  timeAgo,
} from '../dom';
import { capacityOption, sloTerm, sloText } from '../options';
import type { CapacityPlan, Named, Page } from '../types';
import { answerForm, answerSummary, renderAnswerPlan, type DeploymentItem } from './answer';
import { compareTicks } from './compare';
import { chartGrid, followJob, pageHeader, type Cleanup, type PageContext } from './page';

const MODE_TEXT: Record<string, string> = {
  'max-rate': 'highest rate multiple meeting the SLO',
  'min-gpus': 'fewest replicas meeting the SLO',
  pareto: 'goodput across fusion thresholds',
  answer: 'fewest GPUs and their price per GPU type, TP and fusion threshold',
};

function answerText(plan: CapacityPlan): string {
  const r = plan.result;
  if (!r) return '–';
  if (r.mode === 'answer') return answerSummary(r);
  if (r.mode === 'pareto') return `${r.front?.length ?? 0} thresholds on the front`;
  const a = r.answer;
  if (!a) return 'none meets the SLO';
  if (r.mode === 'max-rate') return `${fmt(a.rateScale)}x the workload rate`;
  return `${a.replicas} replicas (${'gpus' in a ? a.gpus : '?'} GPUs)`;
}

export async function renderCapacityPlans(ctx: PageContext): Promise<void> {
  const [list, profiles, deployments, configs] = await Promise.all([
    api<Page<CapacityPlan>>('GET', '/capacity-plans?limit=50'),
    api<Page<Named>>('GET', '/workload-profiles?limit=100'),
    api<Page<DeploymentItem>>('GET', '/deployments?limit=100'),
    api<Page<Named>>('GET', '/fusion-configs?limit=100'),
  ]);
  if (!ctx.isCurrent()) return;
  const ticks = compareTicks('plans');
  ctx.main.append(
    pageHeader('Capacity plans', h('span', { class: 'muted' }, `${list.total} in this workspace`)),
    canWrite() ? answerForm(profiles.items, deployments.items, configs.items) : '',
    canWrite() ? newPlanForm(profiles.items, deployments.items, configs.items) : '',
    h(
      'section',
      { class: 'panel' },
      list.items.length > 1 ? ticks.bar : null,
      list.items.length
        ? table(
            ['compare', 'id', 'created', 'mode', 'points', 'status', 'answer'],
            list.items.map((p) => [
              ticks.box(p.id),
              h('a', { href: `#/capacity-plans/${p.id}`, class: 'mono' }, shortId(p.id)),
              timeAgo(p.createdAt),
              p.mode,
              String(p.points.length),
              statusCell(p.job?.status ?? p.status, p.job?.progress ?? 0, p.job?.error),
              answerText(p),
            ]),
            { id: 'capacity-table' },
          )
        : h('p', { class: 'muted' }, 'No capacity plans yet: ask for one above.'),
    ),
  );
}

export async function renderCapacityPlan(ctx: PageContext, id: string): Promise<Cleanup | void> {
  const plan = await api<CapacityPlan>('GET', `/capacity-plans/${id}`);
  if (!ctx.isCurrent()) return;
  if (plan.mode === 'answer') return renderAnswerPlan(ctx, plan);
  const term = sloTerm(plan.slo);
  const badge = h('span', { id: 'plan-status' }, statusBadge(plan.job?.status ?? plan.status));
  ctx.main.append(
    pageHeader(`Capacity plan ${shortId(plan.id)}`, badge),
    h(
      'p',
      { class: 'lead' },
      `${plan.mode}: ${MODE_TEXT[plan.mode] ?? ''}. `,
      term ? `SLO: ${sloText(plan.slo)}. ` : 'No SLO. ',
      h('strong', {}, `Answer: ${answerText(plan)}`),
    ),
    plan.job?.finishedAt
      ? h(
          'p',
          { class: 'muted small', id: 'plan-took' },
          // A flow's row starts with its first point and finishes with the answer.
          `Ran ${plan.job.startedAt ? seconds(plan.job.startedAt, plan.job.finishedAt) : '–'} over ${plan.points.length} point simulations, ` +
            `${seconds(plan.createdAt, plan.job.finishedAt)} from queued to the answer.`,
        )
      : '',
  );
  const result = plan.result?.mode === 'answer' ? null : plan.result;
  if (!result) {
    if (!plan.job) return;
    if (plan.job.status === 'failed') {
      ctx.main.append(failurePanel(plan.job));
      return;
    }
    return followJob(ctx, plan.job, badge, `Simulating ${plan.points.length} points, then the answer…`);
  }
  chartGrid(ctx.main, [
    {
      name: 'capacity-sweep',
      title: 'Sweep: throughput (points green when they meet the SLO) and the SLO term’s p99 latency',
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
        [
          key,
          'meets SLO',
          'req/s',
          'goodput',
          'tok/s',
          'p99 TTFT',
          'p99 TPOT',
          'KV peak (blocks)',
          'preemptions',
        ],
        result.points.map((r) => [
          r[key] === null ? 'no fusion' : String(r[key]),
          r.meetsSlo ? h('span', { class: 'ok' }, 'yes') : h('span', { class: 'bad' }, 'no'),
          fmt(r.request_throughput as number),
          fmt(r.request_goodput as number),
          fmt(r.output_throughput as number),
          fmtMs(r.p99_ttft_ms as number),
          fmtMs(r.p99_tpot_ms as number),
          fmt(r.kv_peak_used_blocks),
          fmt(r.preemptions as number),
        ]),
      ),
    ),
  );
}

const SWEEP_HINT: Record<string, string> = {
  'max-rate': 'multiples of the workload rate, e.g. 0.5 1 2 4 (empty: the default)',
  'min-gpus': 'replica counts, e.g. 1 2 4 8 (empty: the default)',
  pareto: 'thresholds (empty: the fusion config’s)',
};

/** A capacity plan: the mode, what it sweeps (named for the mode) and an SLO override. */
function newPlanForm(profiles: Named[], deployments: Named[], configs: Named[]): HTMLElement {
  const ready = profiles.length > 0 && deployments.length > 0;
  const mode = select(
    'mode',
    Object.keys(CAPACITY_SWEEPS).map((m) => ({ value: m, label: `${m}: ${MODE_TEXT[m]}` })),
    { id: 'plan-mode' },
  );
  const sweepLabel = h('span', {});
  const sweepHint = h('span', { class: 'muted small' });
  const sync = () => {
    sweepLabel.textContent = CAPACITY_SWEEPS[mode.value as keyof typeof CAPACITY_SWEEPS].label;
    sweepHint.textContent = SWEEP_HINT[mode.value];
  };
  mode.addEventListener('change', sync);
  sync();
  const form = h(
    'form',
    { class: 'panel', id: 'new-plan' },
    h('h3', {}, 'New capacity plan'),
    h(
      'div',
      { class: 'form-row' },
      field(
        'Workload profile',
        select('workloadProfileId', named(profiles), { id: 'plan-workloadProfileId' }),
      ),
      field('Deployment', select('deploymentId', named(deployments), { id: 'plan-deploymentId' })),
      field(
        'Fusion config',
        select('fusionConfigId', [{ value: '', label: 'none' }, ...named(configs)], {
          id: 'plan-fusionConfigId',
        }),
      ),
      field('Mode', mode),
      h(
        'label',
        { class: 'field' },
        sweepLabel,
        input('sweep', { id: 'plan-sweep', placeholder: 'default' }),
        sweepHint,
      ),
    ),
    h(
      'div',
      { class: 'form-row' },
      ...sloFields('plan'),
      h('button', { type: 'submit', id: 'create-plan', disabled: !ready }, 'Plan'),
    ),
    ready ? null : h('p', { class: 'muted small' }, 'Needs a workload profile and a deployment.'),
  );
  onSubmitPost<{ id: string }>(form, '/capacity-plans', capacityRequest, (p) => {
    location.hash = `#/capacity-plans/${p.id}`;
  });
  return form;
}
