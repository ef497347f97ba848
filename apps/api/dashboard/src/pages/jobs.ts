import { api, watchJob, type ProgressEvent } from '../api';
import { h, progressBar, shortId, statusBadge, table, timeAgo } from '../dom';
import { queueOption } from '../options';
import type { Job, Overview } from '../types';
import { chartGrid, pageHeader, type Cleanup, type PageContext } from './page';

/** At most this many live event streams (a browser allows about six connections per host). */
const MAX_STREAMS = 3;

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
  const rows = jobs.items.map((j) => {
    const cell = h('div', {}, cellFor(j.status, j.progress, j.error));
    if ((j.status === 'queued' || j.status === 'running') && streams < MAX_STREAMS) {
      streams++;
      void watchJob(j.id, (e: ProgressEvent) => cell.replaceChildren(cellFor(e.status, e.progress, e.error)))
        .then((stop) => stops.push(stop))
        .catch(() => undefined);
    }
    return [
      h('span', { class: 'mono' }, shortId(j.id)),
      j.kind,
      subjectLink(j),
      cell,
      String(j.attempts),
      timeAgo(j.createdAt),
      j.startedAt && j.finishedAt
        ? `${((Date.parse(j.finishedAt) - Date.parse(j.startedAt)) / 1000).toFixed(1)} s`
        : '–',
    ];
  });
  ctx.main.append(
    h(
      'section',
      { class: 'panel' },
      h('h3', {}, 'Newest jobs'),
      rows.length
        ? table(['job', 'kind', 'computes', 'status', 'attempts', 'created', 'took'], rows, {
            id: 'jobs-table',
          })
        : h('p', { class: 'muted' }, 'No jobs yet.'),
    ),
  );
  return () => stops.forEach((s) => s());
}

function cellFor(status: string, progress: number, error: string | null): Node {
  if (status === 'succeeded') return statusBadge(status);
  if (status === 'failed')
    return h(
      'span',
      { title: error ?? '' },
      statusBadge(status),
      ' ',
      error ? h('span', { class: 'muted small' }, error.slice(0, 80)) : null,
    );
  return progressBar(progress, status);
}
