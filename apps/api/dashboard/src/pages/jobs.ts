import { api, watchJob, type ProgressEvent } from '../api';
import { h, seconds, shortId, statusCell, timeAgo, table } from '../dom';
import { queueOption } from '../options';
import type { CapacityPlan, Job, Overview } from '../types';
import { chartGrid, pageHeader, type Cleanup, type PageContext } from './page';

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

/** Queues, workers and the workspace's newest jobs; running jobs update live over SSE. */
export async function renderJobs(ctx: PageContext): Promise<Cleanup> {
  const [overview, jobs] = await Promise.all([
    api<Overview>('GET', '/dashboard/overview'),
    api<{ items: Job[] }>('GET', '/dashboard/jobs?limit=50'),
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
    const cell = h('div', {}, statusCell(j.status, j.progress, j.error));
    if ((j.status === 'queued' || j.status === 'running') && streams < MAX_STREAMS) {
      streams++;
      void watchJob(j.id, (e: ProgressEvent) =>
        cell.replaceChildren(statusCell(e.status, e.progress, e.error)),
      )
        .then((stop) => stops.push(stop))
        .catch(() => undefined);
    }
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
      rows.length
        ? withRowClasses(
            table(['job', 'kind', 'computes', 'status', 'attempts', 'created', 'took'], rows, {
              id: 'jobs-table',
            }),
            classes,
          )
        : h('p', { class: 'muted' }, 'No jobs yet.'),
    ),
  );
  return () => stops.forEach((s) => s());
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
 * How long a job took. A flow's parent row only runs the final aggregation, so its own start
 * would hide the children's work: a flow is timed from when it was queued to when it finished.
 */
function took(j: Job, plan: CapacityPlan | undefined): Node | string {
  if (!j.finishedAt) return '–';
  if (plan)
    return h(
      'span',
      { class: 'flow-took', title: 'from queued to the answer, including every point simulation' },
      `${seconds(j.createdAt, j.finishedAt)} (${plan.points.length} points)`,
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

function pointLabel(pt: object): string {
  return Object.entries(pt)
    .filter(([, v]) => v !== undefined)
    .map(([k, v]) => `${k} ${v === null ? 'none' : typeof v === 'object' ? JSON.stringify(v) : String(v)}`)
    .join(', ');
}
