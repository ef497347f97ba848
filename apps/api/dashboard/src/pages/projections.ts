import { api, watchJob } from '../api';
import { projectionRequest } from '../bodies';
import { fmt, fmtMs, h, shortId, statusCell, table, timeAgo } from '../dom';
import { canWrite, field, input, named, onSubmitPost, select, sloFields } from '../forms';
import type { Named, Page, Projection, ProjectionSummary } from '../types';
import { compareTicks } from './compare';
import { pageHeader, type Cleanup, type PageContext } from './page';

/** Projections: the newest first, live progress for running ones, and a form to ask for one. */
export async function renderProjections(ctx: PageContext): Promise<Cleanup> {
  const [list, profiles, deployments, fusionConfigs] = await Promise.all([
    api<Page<ProjectionSummary>>('GET', '/dashboard/projections?limit=50'),
    api<Page<Named>>('GET', '/workload-profiles?limit=100'),
    api<Page<Named>>('GET', '/deployments?limit=100'),
    api<Page<FusionConfig>>('GET', '/fusion-configs?limit=100'),
  ]);
  if (!ctx.isCurrent()) return () => undefined;
  const stops: Array<() => void> = [];
  ctx.main.append(
    pageHeader('Projections', h('span', { class: 'muted' }, `${list.total} in this workspace`)),
  );
  ctx.main.append(newProjectionForm(profiles.items, deployments.items, fusionConfigs.items, ctx.query));

  const ticks = compareTicks('projections');
  const rows = list.items.map((p) => {
    const progressCell = h('div', {}, statusCell(p.status, p.progress, p.error));
    if (p.status === 'queued' || p.status === 'running')
      void watchJob(p.jobId, (e) => {
        progressCell.replaceChildren(statusCell(e.status, e.progress, e.error));
      })
        .then((stop) => stops.push(stop))
        .catch(() => undefined);
    return [
      ticks.box(p.id),
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
      list.items.length > 1 ? ticks.bar : null,
      list.items.length
        ? table(
            [
              'compare',
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

interface FusionConfig extends Named {
  mode: string;
  thresholds: number[];
}

function newProjectionForm(
  profiles: Named[],
  deployments: Named[],
  fusionConfigs: FusionConfig[],
  query: URLSearchParams,
): HTMLElement {
  const writable = canWrite();
  const ready = profiles.length > 0 && deployments.length > 0;
  const workload = select('workloadProfileId', named(profiles), {
    id: 'new-workloadProfileId',
    required: true,
  });
  const deployment = select('deploymentId', named(deployments), { id: 'new-deploymentId', required: true });
  const fusion = select(
    'fusionConfigId',
    [{ value: '', label: 'none (no fusion)' }, ...named(fusionConfigs)],
    {
      id: 'new-fusionConfigId',
    },
  );
  const threshold = select('threshold', [], { id: 'new-threshold' });
  // The thresholds offered are the chosen fusion config's own.
  const syncThresholds = () => {
    const fc = fusionConfigs.find((f) => f.id === fusion.value);
    threshold.replaceChildren(
      ...(fc?.thresholds ?? []).map((t) => h('option', { value: String(t) }, String(t))),
    );
    threshold.disabled = !fc;
  };
  fusion.addEventListener('change', syncThresholds);
  // A link ("use in a projection") preselects what it names.
  for (const [el, key] of [
    [workload, 'workloadProfileId'],
    [deployment, 'deploymentId'],
    [fusion, 'fusionConfigId'],
  ] as const) {
    const want = query.get(key);
    if (want && [...el.options].some((o) => o.value === want)) el.value = want;
  }
  syncThresholds();
  const form = h(
    'form',
    { class: 'panel new-projection', id: 'new-projection' },
    h('h3', {}, 'New projection'),
    !ready
      ? h(
          'p',
          { class: 'muted' },
          'Create a workload profile (',
          h('a', { href: '#/workload-profiles' }, 'Workload profiles'),
          ') and a deployment (POST /api/v1/deployments, see /docs) first.',
        )
      : null,
    h(
      'div',
      { class: 'form-row' },
      field('Workload profile', workload),
      field('Deployment', deployment),
      field('Fusion config', fusion),
      field('Threshold', threshold),
    ),
    h(
      'details',
      { class: 'overrides' },
      h('summary', {}, 'Seed and SLO override'),
      h(
        'div',
        { class: 'form-row' },
        field('Seed', input('seed', { type: 'number', min: 0, step: 1, placeholder: '1', id: 'new-seed' })),
        ...sloFields('new'),
      ),
      h('p', { class: 'muted small' }, 'An SLO given here replaces the deployment’s for this projection.'),
    ),
    h(
      'div',
      { class: 'form-row' },
      h('button', { type: 'submit', id: 'run-projection', disabled: !writable || !ready }, 'Run projection'),
    ),
    !writable
      ? h('p', { class: 'muted' }, 'Your key is a viewer key: it can read but not queue projections.')
      : null,
  );
  onSubmitPost<Projection>(form, '/projections', projectionRequest, (p) => {
    location.hash = `#/projections/${p.id}`;
  });
  return form;
}
