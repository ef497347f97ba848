import { api, watchJob } from '../api';
import { errorBox, fmt, fmtMs, h, shortId, statusCell, table, timeAgo } from '../dom';
import type { Named, Page, Projection, ProjectionSummary } from '../types';
import { pageHeader, type Cleanup, type PageContext } from './page';

/** Projections: the newest first, live progress for running ones, and a form to ask for one. */
export async function renderProjections(ctx: PageContext): Promise<Cleanup> {
  const [list, profiles, deployments, fusionConfigs] = await Promise.all([
    api<Page<ProjectionSummary>>('GET', '/dashboard/projections?limit=50'),
    api<Page<Named>>('GET', '/workload-profiles?limit=100'),
    api<Page<Named>>('GET', '/deployments?limit=100'),
    api<Page<Named>>('GET', '/fusion-configs?limit=100'),
  ]);
  if (!ctx.isCurrent()) return () => undefined;
  const stops: Array<() => void> = [];
  ctx.main.append(
    pageHeader('Projections', h('span', { class: 'muted' }, `${list.total} in this workspace`)),
  );
  ctx.main.append(newProjectionForm(profiles.items, deployments.items, fusionConfigs.items));

  const rows = list.items.map((p) => {
    const progressCell = h('div', {}, statusCell(p.status, p.progress, p.error));
    if (p.status === 'queued' || p.status === 'running')
      void watchJob(p.jobId, (e) => {
        progressCell.replaceChildren(statusCell(e.status, e.progress, e.error));
      })
        .then((stop) => stops.push(stop))
        .catch(() => undefined);
    return [
      h('a', { href: `#/projections/${p.id}`, class: 'mono' }, shortId(p.id)),
      timeAgo(p.createdAt),
      p.workloadProfileName ?? '–',
      p.deploymentName ?? '–',
      p.fusionConfigName ?? h('span', { class: 'muted' }, 'none'),
      progressCell,
      fmt(p.outputThroughput),
      fmt(p.outputThroughputFused),
      p.throughputGain ? `${fmt(p.throughputGain)}x` : '–',
      fmtMs(p.p99TtftMs),
    ];
  });
  ctx.main.append(
    h(
      'section',
      { class: 'panel' },
      list.items.length
        ? table(
            [
              'id',
              'created',
              'workload',
              'deployment',
              'fusion',
              'status',
              'tok/s',
              'tok/s fused',
              'gain',
              'p99 TTFT',
            ],
            rows,
            { id: 'projections-table' },
          )
        : h('p', { class: 'muted' }, 'No projections yet: ask for one above.'),
    ),
  );
  return () => stops.forEach((s) => s());
}

function select(name: string, label: string, items: Named[], optional: boolean): HTMLElement {
  return h(
    'label',
    { class: 'field' },
    h('span', {}, label),
    h(
      'select',
      { name, id: `new-${name}`, required: !optional },
      optional ? h('option', { value: '' }, 'none (no fusion)') : null,
      ...items.map((i) => h('option', { value: i.id }, i.name)),
    ),
  );
}

function newProjectionForm(profiles: Named[], deployments: Named[], fusionConfigs: Named[]): HTMLElement {
  const status = h('div', { class: 'form-status' });
  const canWrite = document.body.dataset.role !== 'viewer';
  const form = h(
    'form',
    { class: 'panel new-projection', id: 'new-projection' },
    h('h3', {}, 'New projection'),
    !profiles.length || !deployments.length
      ? h(
          'p',
          { class: 'muted' },
          'Create a workload profile and a deployment first (POST /api/v1/workload-profiles and /deployments, see /docs).',
        )
      : null,
    h(
      'div',
      { class: 'form-row' },
      select('workloadProfileId', 'Workload profile', profiles, false),
      select('deploymentId', 'Deployment', deployments, false),
      select('fusionConfigId', 'Fusion config', fusionConfigs, true),
      h(
        'button',
        {
          type: 'submit',
          id: 'run-projection',
          disabled: !canWrite || !profiles.length || !deployments.length,
        },
        'Run projection',
      ),
    ),
    !canWrite
      ? h('p', { class: 'muted' }, 'Your key is a viewer key: it can read but not queue projections.')
      : null,
    status,
  );
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    const data = new FormData(form);
    const body: Record<string, string> = {
      workloadProfileId: String(data.get('workloadProfileId')),
      deploymentId: String(data.get('deploymentId')),
    };
    if (data.get('fusionConfigId')) body.fusionConfigId = String(data.get('fusionConfigId'));
    status.replaceChildren('Queuing…');
    // One key per click: a retried request (network hiccup) does not queue the projection twice.
    api<Projection>('POST', '/projections', body, { 'idempotency-key': crypto.randomUUID() })
      .then((p) => {
        location.hash = `#/projections/${p.id}`;
      })
      .catch((err) => status.replaceChildren(errorBox(err)));
  });
  return form;
}
