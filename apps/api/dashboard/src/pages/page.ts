import { api, watchJob } from '../api';
import { chartPanel, type ChartOption } from '../charts';
import { errorBox, failurePanel, h, progressBar, shortId, statusBadge } from '../dom';
import type { Job } from '../types';

export type Cleanup = () => void;

export interface PageContext {
  main: HTMLElement;
  /** The route's query (`#/projections?fusionConfigId=...`): what a link asks a page to preselect. */
  query: URLSearchParams;
  /** False once the user navigated away (late results are then dropped). */
  isCurrent: () => boolean;
}

/** Page title with an optional right-hand side. */
export function pageHeader(title: string, ...right: Array<Node | string | null>): HTMLElement {
  return h('div', { class: 'page-head' }, h('h1', {}, title), h('div', { class: 'page-actions' }, ...right));
}

/** A grid of chart panels; draws them once they are in the document. */
export function chartGrid(
  main: HTMLElement,
  charts: Array<{
    name: string;
    title: string;
    option: ChartOption | null;
    note?: string;
    wide?: boolean;
    height?: number;
  }>,
): void {
  const grid = h('div', { class: 'chart-grid' });
  const draws: Array<() => void> = [];
  for (const c of charts) {
    const { panel, draw } = chartPanel(c.name, c.title, c.option, c.note, c.height);
    if (c.wide) panel.classList.add('wide');
    grid.append(panel);
    draws.push(draw);
  }
  main.append(grid);
  for (const d of draws) d();
}

type JobEvent = { status: string; progress: number; error: string | null };

/**
 * A button that cancels a queued or running job (`POST /jobs/:id/cancel`, idempotent; a capacity
 * plan's point simulations go with it). It hands the job as the API answers to `onDone`; a
 * refusal (a viewer key, say) is shown beside it.
 */
export function cancelButton(job: { id: string }, onDone: (j: JobEvent) => void): HTMLElement {
  const button = h(
    'button',
    { type: 'button', class: 'button-secondary cancel-job', 'aria-label': `Cancel job ${shortId(job.id)}` },
    'Cancel',
  );
  const msg = h('span', { class: 'cancel-status', 'aria-live': 'polite' });
  button.addEventListener('click', () => {
    button.setAttribute('disabled', '');
    msg.replaceChildren();
    api<JobEvent>('POST', `/jobs/${job.id}/cancel`)
      .then(onDone)
      .catch((err) => {
        button.removeAttribute('disabled');
        msg.replaceChildren(errorBox(err));
      });
  });
  return h('span', { class: 'cancel' }, button, msg);
}

/**
 * A button that queues a failed or cancelled job again (`POST /jobs/:id/retry`): the job as the
 * API answers (queued) goes to `onDone`; a refusal (409 for a job that is not failed, a viewer
 * key's 403) is shown beside it.
 */
export function retryButton(job: { id: string }, onDone: (j: JobEvent) => void): HTMLElement {
  const button = h(
    'button',
    { type: 'button', class: 'button-secondary retry-job', 'aria-label': `Retry job ${shortId(job.id)}` },
    'Retry',
  );
  const msg = h('span', { class: 'cancel-status', 'aria-live': 'polite' });
  button.addEventListener('click', () => {
    button.setAttribute('disabled', '');
    msg.replaceChildren();
    api<JobEvent>('POST', `/jobs/${job.id}/retry`)
      .then(onDone)
      .catch((err) => {
        button.removeAttribute('disabled');
        msg.replaceChildren(errorBox(err));
      });
  });
  return h('span', { class: 'cancel' }, button, msg);
}

/**
 * A running job's panel: its progress live over SSE (polling should the stream break), the
 * page's badge kept in step, its failure shown in place, the page redrawn when it succeeds.
 */
export function followJob(ctx: PageContext, job: Job, badge: HTMLElement, doing: string): Cleanup {
  const bar = h('div', { id: 'job-progress', 'aria-live': 'polite' }, progressBar(job.progress, job.status));
  const panel = h(
    'section',
    { class: 'panel' },
    h(
      'h3',
      {},
      `Job ${shortId(job.id)} `,
      cancelButton(job, (j) => onEvent(j)),
    ),
    bar,
    h('p', { class: 'muted' }, doing),
  );
  ctx.main.append(panel);
  let stop: () => void = () => undefined;
  let poll: ReturnType<typeof setInterval> | undefined;
  const onEvent = (e: JobEvent) => {
    badge.replaceChildren(statusBadge(e.status));
    if (e.status === 'failed') panel.replaceWith(failurePanel({ ...job, error: e.error }));
    else bar.replaceChildren(progressBar(e.progress, e.status));
    if (e.status === 'succeeded' && ctx.isCurrent()) window.dispatchEvent(new HashChangeEvent('hashchange'));
  };
  const fallback = () => {
    poll = setInterval(() => {
      void api<JobEvent>('GET', `/jobs/${job.id}`).then((j) => {
        onEvent(j);
        if (j.status === 'succeeded' || j.status === 'failed') clearInterval(poll);
      });
    }, 1000);
  };
  void watchJob(job.id, onEvent, (last) => {
    if (!last || (last.status !== 'succeeded' && last.status !== 'failed')) fallback();
  })
    .then((s) => (stop = s))
    .catch(fallback);
  return () => {
    stop();
    clearInterval(poll);
  };
}
