import { api } from '../api';
import { workloadRequest } from '../bodies';
import { canWrite, field, input, onSubmitPost } from '../forms';
import { fmt, h, shortId, stat, table, timeAgo } from '../dom';
import { COLORS, histogramOption } from '../options';
import type { Named, Page, WorkloadHistograms } from '../types';
import { chartGrid, pageHeader, type PageContext } from './page';

interface WorkloadProfile extends Named {
  workload: Record<string, unknown>;
  traceId: string | null;
}

export async function renderWorkloadProfiles(ctx: PageContext): Promise<void> {
  const list = await api<Page<WorkloadProfile>>('GET', '/workload-profiles?limit=100');
  if (!ctx.isCurrent()) return;
  const describe = (w: Record<string, unknown>, trace: string | null) => {
    if (trace) return `trace ${shortId(trace)}`;
    const arrival = w.arrival as { process?: string; rate?: number } | undefined;
    return `${arrival?.process ?? 'poisson'} ${fmt(arrival?.rate)} req/s, ${fmt(w.numRequests as number)} requests`;
  };
  ctx.main.append(
    pageHeader('Workload profiles', h('span', { class: 'muted' }, `${list.total} in this workspace`)),
    canWrite() ? newWorkloadForm() : '',
    h(
      'section',
      { class: 'panel' },
      list.items.length
        ? table(
            ['name', 'workload', 'created'],
            list.items.map((p) => [
              h('a', { href: `#/workload-profiles/${p.id}` }, p.name),
              describe(p.workload, p.traceId),
              timeAgo(p.createdAt),
            ]),
            { id: 'workloads-table' },
          )
        : h('p', { class: 'muted' }, 'No workload profiles yet: make one above.'),
    ),
  );
}

export async function renderWorkloadProfile(ctx: PageContext, id: string): Promise<void> {
  const [p, hist] = await Promise.all([
    api<WorkloadProfile>('GET', `/workload-profiles/${id}`),
    api<WorkloadHistograms>('GET', `/dashboard/workload-profiles/${id}/histograms`),
  ]);
  if (!ctx.isCurrent()) return;
  ctx.main.append(
    pageHeader(p.name, p.traceId ? h('span', { class: 'muted' }, `trace ${shortId(p.traceId)}`) : null),
    h(
      'div',
      { class: 'stats' },
      stat('requests', fmt(hist.requests)),
      stat('duration', `${fmt(hist.durationS)} s`),
      stat('mean rate', `${fmt(hist.meanRate)} req/s`),
      stat(
        'input tokens',
        fmt(hist.inputTokens.mean),
        `median ${fmt(hist.inputTokens.p50)}, p99 ${fmt(hist.inputTokens.p99)}`,
      ),
      stat(
        'output tokens',
        fmt(hist.outputTokens.mean),
        `median ${fmt(hist.outputTokens.p50)}, p99 ${fmt(hist.outputTokens.p99)}`,
      ),
      stat('tenants', hist.tenants.length ? String(hist.tenants.length) : 'none'),
    ),
  );
  chartGrid(ctx.main, [
    {
      name: 'arrivals',
      title: 'Arrival rate over time',
      option: histogramOption(
        { edges: hist.arrivals.edges, width: hist.arrivals.width, counts: hist.arrivals.ratePerS },
        `seconds from the first arrival (bins of ${fmt(hist.arrivals.width)} s)`,
        'requests/s',
      ),
      wide: true,
      note: p.traceId
        ? 'From the stored trace.'
        : 'The generated workload with seed 1 (a projection may use another seed).',
    },
    {
      name: 'input-lengths',
      title: 'Prompt lengths',
      option: histogramOption(hist.inputTokens, 'input tokens', 'requests', COLORS.without),
    },
    {
      name: 'output-lengths',
      title: 'Output lengths',
      option: histogramOption(hist.outputTokens, 'output tokens', 'requests', COLORS.with),
    },
  ]);
  ctx.main.append(
    h(
      'details',
      { class: 'panel' },
      h('summary', {}, 'Workload spec'),
      h('pre', { class: 'json' }, JSON.stringify(p.workload, null, 2)),
    ),
  );
}

/** A synthetic workload: Poisson arrivals and log-normal prompt and output lengths. */
function newWorkloadForm(): HTMLElement {
  const num = (name: string, attrs: Record<string, string | number>) =>
    input(name, { type: 'number', required: true, ...attrs });
  const form = h(
    'form',
    { class: 'panel', id: 'new-workload' },
    h('h3', {}, 'New workload profile'),
    h(
      'div',
      { class: 'form-row' },
      field('Name', input('name', { required: true, placeholder: 'chat, 2 req/s' })),
      field('Arrival rate (req/s)', num('rate', { min: 0, step: 'any', value: 2 }), 'Poisson'),
      field('Requests', num('numRequests', { min: 1, step: 1, value: 500 })),
      field(
        'Prompt tokens (median)',
        num('inputMedian', { min: 1, step: 1, value: 600 }),
        'log-normal, σ 0.5',
      ),
      field(
        'Output tokens (median)',
        num('outputMedian', { min: 1, step: 1, value: 120 }),
        'log-normal, σ 0.5',
      ),
      h('button', { type: 'submit', id: 'create-workload' }, 'Create'),
    ),
  );
  onSubmitPost<{ id: string }>(form, '/workload-profiles', workloadRequest, (w) => {
    location.hash = `#/workload-profiles/${w.id}`;
  });
  return form;
}
