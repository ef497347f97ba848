import { api, watchJob, type ProgressEvent } from '../api';
import { distinctLines, h, seconds, shortId, statusCell, timeAgo, table } from '../dom';
import { queueOption } from '../options';
import type { CapacityPlan, Job, Overview } from '../types';
import { cancelButton, chartGrid, pageHeader, retryButton, type Cleanup, type PageContext } from './page';

/** At most this many live event streams (a browser allows about six connections per host). */
const MAX_STREAMS = 3;
/** Capacity plans whose children are listed (one request each). */
const MAX_FLOWS = 10;

const subjectLink = (j: Job) =>
  j.kind === 'simulate'
    ? h('a', { href: `#/projections/${j.subjectId}` }, 'projection')
    : j.kind === 'capacity'
      ? h('a', { href: `#/capacity-plans/${j.subjectId}` }, 'capacity plan')
      : h('a', { href: `#/fusion-profiles/${j.subjectId}` }, 'fusion profile');

const STATES = ['queued', 'running', 'succeeded', 'failed'] as const;
const QUEUES = ['simulate', 'capacity', 'fusion'] as const;
/** What each queue's payload names besides the run id (payloads carry ids, never data). */
const SUBJECT_KEY: Record<Job['kind'], string> = {
  simulate: 'projectionId',
  capacity: 'capacityPlanId',
  fusion: 'fusionProfileId',
};

/** The filters, kept in the route's query (`#/jobs?status=failed&queue=simulate`). */
function filters(query: URLSearchParams): { status: string; queue: string } {
  const pick = (v: string | null, of: readonly string[]) => (v && of.includes(v) ? v : '');
  return { status: pick(query.get('status'), STATES), queue: pick(query.get('queue'), QUEUES) };
}

function filterBar(current: { status: string; queue: string }): HTMLElement {
  const select = (id: string, label: string, options: readonly string[], value: string) => {
    const el = h(
      'select',
      { id, 'aria-label': label },
      h('option', { value: '' }, `every ${label.toLowerCase()}`),
      ...options.map((o) => h('option', { value: o, selected: o === value }, o)),
    );
    return h('label', { class: 'filter' }, `${label} `, el);
  };
  const bar = h(
    'div',
    { class: 'filters', id: 'job-filters' },
    select('filter-status', 'State', STATES, current.status),
    select('filter-queue', 'Queue', QUEUES, current.queue),
  );
  bar.addEventListener('change', () => {
    const q = new URLSearchParams();
    for (const [key, id] of [
      ['status', 'filter-status'],
      ['queue', 'filter-queue'],
    ] as const) {
      const v = (bar.querySelector(`#${id}`) as HTMLSelectElement).value;
      if (v) q.set(key, v);
    }
    location.hash = q.toString() ? `#/jobs?${q}` : '#/jobs';
  });
  return bar;
}

/** Queues, workers and the workspace's newest jobs; running jobs update live over SSE. */
export async function renderJobs(ctx: PageContext): Promise<Cleanup> {
  const current = filters(ctx.query);
  const q = new URLSearchParams({ limit: '50' });
  if (current.status) q.set('status', current.status);
  if (current.queue) q.set('kind', current.queue);
  const [overview, jobs] = await Promise.all([
    api<Overview>('GET', '/dashboard/overview'),
    api<{ items: Job[] }>('GET', `/dashboard/jobs?${q}`),
  ]);
  // A capacity plan is a flow: one simulation per point (children without rows of their own),
  // then the plan job. Its points are read from the plan so they can be listed under it.
  const flows = new Map<string, CapacityPlan>();
  await Promise.all(
    jobs.items
      .filter((j) => j.kind === 'capacity' && j.subjectId)
      .slice(0, MAX_FLOWS)
      .map((j) =>
        api<CapacityPlan>('GET', `/capacity-plans/${j.subjectId}`)
          .then((plan) => flows.set(j.id, plan))
          .catch(() => undefined),
      ),
  );
  if (!ctx.isCurrent()) return () => undefined;
  const stops: Array<() => void> = [];
  const c = overview.jobs;
  ctx.main.append(
    pageHeader(
      'Jobs',
      h(
        'span',
        { class: 'muted', id: 'job-counts' },
        `${c.queued} queued · ${c.running} running · ${c.succeeded} succeeded · ${c.failed} failed`,
        childTotal(flows) ? ` (jobs; plus ${childTotal(flows)} child simulations of capacity plans)` : '',
      ),
    ),
  );
  chartGrid(ctx.main, [
    { name: 'queues', title: 'Queues (every workspace)', option: queueOption(overview.queues), height: 260 },
  ]);
  const grid = ctx.main.querySelector('.chart-grid')!;
  grid.append(
    h(
      'section',
      { class: 'panel', id: 'workers' },
      h('h3', {}, `Workers (${overview.workers.length} alive)`),
      overview.workers.length
        ? table(
            ['worker', 'queues', 'running', 'done', 'failed', 'up since', 'heartbeat'],
            overview.workers.map((w) => [
              h('span', { class: 'mono' }, w.workerId),
              w.queues.join(', '),
              String(w.active),
              String(w.completed),
              String(w.failed),
              timeAgo(w.startedAt),
              timeAgo(w.sentAt),
            ]),
          )
        : h('p', { class: 'muted' }, 'No worker has sent a heartbeat in the last 15 s.'),
    ),
  );

  let streams = 0;
  const rows: Array<Array<Node | string>> = [];
  const classes: string[] = [];
  for (const j of jobs.items) {
    const cell = h('div', { 'aria-live': 'polite' });
    let stop: (() => void) | undefined;
    const follow = () => {
      if (streams >= MAX_STREAMS) return;
      streams++;
      void watchJob(j.id, (e: ProgressEvent) => show(e))
        .then((s) => {
          stop = s;
          stops.push(s);
        })
        .catch(() => undefined);
    };
    const show = (e: { status: string; progress: number; error: string | null }) => {
      const open = e.status === 'queued' || e.status === 'running';
      cell.replaceChildren(
        statusCell(e.status, e.progress, e.error),
        open ? cancelButton(j, show) : '',
        e.status === 'failed'
          ? retryButton(j, (again) => {
              // Queued again: followed live like any open job.
              show(again);
              stop?.();
              follow();
            })
          : '',
        e.status === 'failed' ? failureDetails(j, e.error) : '',
      );
    };
    show(j);
    if (j.status === 'queued' || j.status === 'running') follow();
    const plan = flows.get(j.id);
    rows.push([
      h('span', { class: 'mono' }, shortId(j.id)),
      j.kind,
      subjectLink(j),
      cell,
      String(j.attempts),
      timeAgo(j.createdAt),
      took(j, plan),
    ]);
    classes.push(plan ? 'flow-parent' : '');
    for (const child of plan ? flowChildren(j, plan) : []) {
      rows.push(child);
      classes.push('flow-child');
    }
  }
  ctx.main.append(
    h(
      'section',
      { class: 'panel' },
      h('h3', {}, 'Newest jobs'),
      filterBar(current),
      rows.length
        ? withRowClasses(
            table(['job', 'kind', 'computes', 'status', 'attempts', 'created', 'took'], rows, {
              id: 'jobs-table',
            }),
            classes,
          )
        : h('p', { class: 'muted' }, current.status || current.queue ? 'No job matches.' : 'No jobs yet.'),
    ),
  );
  return () => stops.forEach((s) => s());
}

/** A failed job's whole error (repeated lines once) and the payload its queue carried. */
function failureDetails(j: Job, error: string | null): HTMLElement {
  const payload = { queue: j.kind, runId: j.id, [SUBJECT_KEY[j.kind]]: j.subjectId, attempts: j.attempts };
  return h(
    'details',
    { class: 'job-details' },
    h('summary', {}, 'error and payload'),
    h('h4', {}, 'Error'),
    h(
      'pre',
      { class: 'error-text' },
      distinctLines(error ?? '')
        .map((l) => (l.count > 1 ? `${l.line}   (×${l.count})` : l.line))
        .join('\n') || 'no error message',
    ),
    h('h4', {}, 'Payload'),
    h('pre', { class: 'mono small job-payload' }, JSON.stringify(payload, null, 2)),
  );
}

function withRowClasses(t: HTMLTableElement, classes: string[]): HTMLTableElement {
  t.querySelectorAll('tbody tr').forEach((tr, i) => {
    if (classes[i]) tr.classList.add(classes[i]);
  });
  return t;
}

function childTotal(flows: Map<string, CapacityPlan>): number {
  let n = 0;
  for (const p of flows.values()) n += p.points.length;
  return n;
}

/**
 * How long a job took. A flow's parent row starts with its first point (a later aggregation keeps
 * that start), so it is timed over every point simulation to the answer.
 */
function took(j: Job, plan: CapacityPlan | undefined): Node | string {
  if (!j.finishedAt) return '–';
  if (plan)
    return h(
      'span',
      { class: 'flow-took', title: 'from the first point simulation’s start to the answer' },
      `${seconds(j.startedAt ?? j.createdAt, j.finishedAt)} (${plan.points.length} points)`,
    );
  return j.startedAt ? seconds(j.startedAt, j.finishedAt) : '–';
}

/** The point simulations of a capacity plan, as rows under its job. */
function flowChildren(j: Job, plan: CapacityPlan): Array<Array<Node | string>> {
  return plan.points.map((pt, i) => {
    // Every point is stored before the plan's answer; a failed point fails the whole flow.
    const status = plan.result ? 'succeeded' : j.status;
    return [
      h('span', { class: 'mono muted' }, `└ ${i + 1}/${plan.points.length}`),
      'capacity point',
      h('span', { class: 'small' }, pointLabel(pt)),
      statusCell(status, status === 'succeeded' ? 1 : 0, null),
      '',
      '',
      '',
    ];
  });
}

/** What a point varies (an answer plan's point also carries its deployment's section and ids: not shown). */
const HIDDEN_POINT_KEYS = new Set(['deployment', 'deploymentId', 'fusionProfileId']);

function pointLabel(pt: object): string {
  return Object.entries(pt)
    .filter(([k, v]) => v !== undefined && !HIDDEN_POINT_KEYS.has(k))
    .map(([k, v]) => `${k} ${v === null ? 'none' : typeof v === 'object' ? JSON.stringify(v) : String(v)}`)
    .join(', ');
}
