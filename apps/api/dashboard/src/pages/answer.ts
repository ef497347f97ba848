/**
 * The answer page: a capacity plan in mode answer (deployments, one per GPU type, x TP x fusion
 * threshold) ends in one sentence (which GPU, how many, at what price; what fusion at a threshold
 * saves and costs in accuracy) and a table of every configuration. Infeasible configurations say
 * why, never "0 req/s".
 */
import { answerRequest } from '../bodies';
import { field, input, named, onSubmitPost, select, sloFields } from '../forms';
import { failurePanel, fmt, fmtMs, h, seconds, shortId, statusBadge, table } from '../dom';
import { sloText } from '../options';
import type { AnswerRow, CapacityPlan, Named, PlanAnswer } from '../types';
import { followJob, pageHeader, type Cleanup, type PageContext } from './page';

export interface DeploymentItem extends Named {
  gpu?: unknown;
  tensorParallel?: number;
  cost?: { gpuHourUsd?: number };
}

/** A figure of any size: tiny accuracy errors (4.1e-7) in exponent form, never rounded to 0. */
const figure = (x: number): string => (x !== 0 && Math.abs(x) < 1e-3 ? x.toExponential(2) : fmt(x));

const usd = (x: number | null): string =>
  x === null || !Number.isFinite(x) ? '–' : `$${x >= 100 ? fmt(x, 4) : x.toFixed(2)}`;

/** The list's one-line answer of an answer plan: its cheapest configuration. */
export function answerSummary(r: PlanAnswer): string {
  const best = r.rows.find((x) => x.index === r.best);
  if (!best) return 'no configuration without fusion serves the rate';
  return `${best.gpus} x ${best.gpu} (${parallel(best)})${best.usdPerHour === null ? '' : `, ${usd(best.usdPerHour)}/h`}`;
}

/** `attention output relative error 0.018 (lower is better, 95 % interval 0.016–0.02, proxy)` */
function accuracyCell(r: AnswerRow): Node | string {
  if (r.threshold === null) return h('span', { class: 'muted' }, 'none (no fusion)');
  if (!r.accuracy.length)
    return h(
      'span',
      { class: 'muted' },
      r.profileSource === 'parametric' ? 'not measured (parametric profile)' : 'not measured here',
    );
  return h(
    'span',
    { class: 'accuracy-cost' },
    ...r.accuracy.map((a) =>
      h(
        'div',
        {},
        `${a.label} ${figure(a.value)}`,
        h(
          'span',
          { class: 'muted small' },
          ` (${[
            a.higherIsBetter === null ? null : a.higherIsBetter ? 'higher is better' : 'lower is better',
            a.interval ? `95 % interval ${figure(a.interval[0])}–${figure(a.interval[1])}` : null,
            a.source,
          ]
            .filter(Boolean)
            .join(', ')})`,
        ),
      ),
    ),
  );
}

/** `TP2`, or `TP2×PP2` with pipeline stages (GPUs per replica). */
const parallel = (r: AnswerRow): string =>
  `TP${r.tensorParallel}${(r.pipelineParallel ?? 1) > 1 ? `×PP${r.pipelineParallel}` : ''}`;

function infeasible(): HTMLElement {
  return h('span', { class: 'bad' }, 'infeasible');
}

/** One row of the table: the configuration, what it takes, what it costs, and why not more. */
function rowCells(r: AnswerRow, marks: Map<number, string>): Array<Node | string> {
  const fusion = r.threshold === null ? 'none' : `${(r.fusionMode ?? 'fusion').toUpperCase()} ${r.threshold}`;
  const mark = marks.get(r.index);
  const config = h(
    'span',
    {},
    h('strong', {}, `${r.gpu}`),
    ` ${parallel(r)}`,
    h('div', { class: 'muted small' }, r.deploymentName),
    mark ? h('div', { class: 'best-mark' }, mark) : null,
  );
  const gpus = !r.feasible
    ? infeasible()
    : r.gpus === null
      ? h('span', { class: 'bad' }, 'not reachable')
      : h(
          'span',
          {},
          `${r.gpus} (${r.replicas} × ${parallel(r)})`,
          r.sloAtSize?.length
            ? h('div', { class: 'muted small confidence' }, r.sloAtSize.map((t) => t.text).join('; '))
            : null,
        );
  const slo = r.sloAtMax.length
    ? r.sloAtMax.map((t) => `${t.label} ${fmtMs(t.value)} ≤ ${fmtMs(t.limit)}`).join('; ')
    : '–';
  const kv =
    r.kvPeakUsedBlocks === null || r.kvBlocksTotal === null
      ? '–'
      : `${fmt(r.kvPeakUsedBlocks)} of ${fmt(r.kvBlocksTotal)} (${fmt((100 * r.kvPeakUsedBlocks) / r.kvBlocksTotal, 2)} %)`;
  return [
    config,
    fusion,
    gpus,
    usd(r.usdPerHour),
    usd(r.costPerMillionOutputTokensUsd),
    usd(r.costPerMillionTotalTokensUsd),
    r.feasible && r.maxRatePerReplica !== null ? fmt(r.maxRatePerReplica) : infeasible(),
    r.feasible ? slo : '–',
    h('span', { class: r.feasible ? '' : 'bad' }, r.limitedBy),
    kv,
    accuracyCell(r),
    r.pareto
      ? h('span', { class: 'ok', title: 'on the front of $/h, $/M tokens and threshold' }, '★ yes')
      : '–',
  ];
}

/** Each cell names its column (`data-label`): a phone shows every row as a card of labelled lines. */
function labelled(t: HTMLTableElement, headers: string[]): HTMLTableElement {
  for (const tr of t.tBodies[0].rows)
    [...tr.cells].forEach((td, i) => td.setAttribute('data-label', headers[i] ?? ''));
  return t;
}

/** How long the plan ran (its first point's start to the answer) and waited in the queue before. */
function durations(plan: CapacityPlan): string {
  const j = plan.job;
  if (!j?.finishedAt) return '';
  const ran = j.startedAt ? `Ran ${seconds(j.startedAt, j.finishedAt)}` : 'Finished';
  const waited = j.startedAt ? `, after ${seconds(plan.createdAt, j.startedAt)} in the queue` : '';
  return `${ran} over ${plan.points.length} configurations${waited}.`;
}

/** A capacity plan in mode answer: its sentence, then every configuration. */
export function renderAnswerPlan(ctx: PageContext, plan: CapacityPlan): Cleanup | void {
  const badge = h('span', { id: 'plan-status' }, statusBadge(plan.job?.status ?? plan.status));
  const r = plan.result?.mode === 'answer' ? plan.result : null;
  const rate =
    r?.targetRate !== null && r?.targetRate !== undefined
      ? `${fmt(r.targetRate)} req/s`
      : typeof plan.points[0]?.targetRate === 'number'
        ? `${fmt(plan.points[0].targetRate)} req/s`
        : 'the workload’s own rate';
  ctx.main.append(
    pageHeader(`Answer ${shortId(plan.id)}`, badge),
    h(
      'section',
      { class: 'panel answer' },
      r
        ? h('p', { class: 'answer-sentence', id: 'answer-sentence' }, r.sentence)
        : h('p', { class: 'muted' }, 'The answer comes once every configuration is evaluated.'),
      h(
        'p',
        { class: 'muted small' },
        `Serving ${rate} within ${plan.slo ? sloText(plan.slo) : 'no SLO'}; `,
        `${new Set(plan.points.map((p) => p.gpu)).size} GPU types, ${plan.points.length} configurations. `,
        h('span', { id: 'plan-took' }, durations(plan)),
      ),
    ),
  );
  if (!r) {
    if (!plan.job) return;
    if (plan.job.status === 'failed') {
      ctx.main.append(failurePanel(plan.job));
      return;
    }
    return followJob(
      ctx,
      plan.job,
      badge,
      `Searching ${plan.points.length} configurations (highest rate, then fewest replicas), then the answer…`,
    );
  }
  const headers = [
    'GPU',
    'fusion',
    'GPUs (replicas)',
    '$/h',
    '$/M output tok',
    '$/M total tok',
    'max req/s per replica',
    'SLO at that rate',
    'limited by',
    'KV peak (blocks)',
    'accuracy cost',
    'on the front',
  ];
  const marks = new Map<number, string>();
  if (r.best !== null) marks.set(r.best, 'cheapest without fusion');
  for (const b of r.bestFused) if (!marks.has(b.index)) marks.set(b.index, `cheapest at ${b.threshold}`);
  ctx.main.append(
    h(
      'section',
      { class: 'panel' },
      h('h3', {}, 'Every configuration'),
      labelled(
        table(
          headers,
          r.rows.map((row) => rowCells(row, marks)),
          { id: 'answer-table', class: 'grid stacked' },
        ),
        headers,
      ),
      h(
        'p',
        { class: 'muted small' },
        'GPUs: the fewest replicas that serve the rate within every SLO term, times TP. Front: no other configuration is as cheap per hour and per token at a threshold as safe (infeasible ones never are). Max req/s: what one replica serves within every term; limited by: the terms violated just above it. KV peak: one replica at that rate. $/M: at that rate. Infeasible: no rate meets the SLO (the reason is the binding term at zero load, or why it cannot be deployed).',
      ),
    ),
  );
}

/** The form for an answer plan: which GPUs (deployments), how much fusion, what rate and SLO. */
export function answerForm(profiles: Named[], deployments: DeploymentItem[], configs: Named[]): HTMLElement {
  const ready = profiles.length > 0 && deployments.length > 0;
  const boxes = h(
    'fieldset',
    { class: 'field checks', id: 'answer-deployments' },
    h('legend', {}, 'Deployments to compare (one per GPU type)'),
    ...deployments.map((d, i) =>
      h(
        'label',
        { class: 'check' },
        h('input', {
          type: 'checkbox',
          name: 'deploymentIds',
          value: d.id,
          id: `answer-deployment-${i}`,
          checked: i < 2,
        }),
        ` ${d.name}`,
        h(
          'span',
          { class: 'muted small' },
          ` ${typeof d.gpu === 'string' ? d.gpu : 'inline GPU'}, TP${d.tensorParallel ?? 1}${
            d.cost?.gpuHourUsd !== undefined ? `, $${d.cost.gpuHourUsd}/GPU-h` : ', no price'
          }`,
        ),
      ),
    ),
  );
  const form = h(
    'form',
    { class: 'panel', id: 'new-answer' },
    h('h3', {}, 'Which GPUs, how many, at what price?'),
    h(
      'p',
      { class: 'muted small' },
      'Each deployment x TP degree x fusion threshold (and none) is searched for the highest rate one replica serves within the SLO, then the fewest replicas for the rate; the cheapest answer comes in one sentence.',
    ),
    h(
      'div',
      { class: 'form-row' },
      field(
        'Workload profile',
        select('workloadProfileId', named(profiles), { id: 'answer-workloadProfileId' }),
      ),
      field(
        'Fusion config',
        select('fusionConfigId', [{ value: '', label: 'none' }, ...named(configs)], {
          id: 'answer-fusionConfigId',
        }),
      ),
      field(
        'Thresholds',
        input('thresholds', { id: 'answer-thresholds', placeholder: 'the config’s' }),
        'e.g. 0.75 0.85',
      ),
      field(
        'TP degrees',
        input('tensorParallel', { id: 'answer-tensorParallel', placeholder: 'each deployment’s' }),
        'e.g. 1 2',
      ),
      field(
        'Target rate (req/s)',
        input('targetRate', {
          id: 'answer-targetRate',
          type: 'number',
          min: 0,
          step: 'any',
          placeholder: 'the workload’s',
        }),
      ),
    ),
    boxes,
    h(
      'div',
      { class: 'form-row' },
      ...sloFields('answer'),
      h('button', { type: 'submit', id: 'create-answer', disabled: !ready }, 'Answer'),
    ),
    ready ? null : h('p', { class: 'muted small' }, 'Needs a workload profile and a deployment.'),
  );
  onSubmitPost<{ id: string }>(form, '/capacity-plans', answerRequest, (p) => {
    location.hash = `#/capacity-plans/${p.id}`;
  });
  return form;
}
