import { api, upload } from '../api';
import { workloadRequest } from '../bodies';
import { canWrite, field, input, onSubmitPost } from '../forms';
import { errorBox, fmt, h, progressBar, shortId, stat, table, timeAgo } from '../dom';
import { COLORS, histogramOption } from '../options';
import type { Named, Page, WorkloadHistograms } from '../types';
import { chartGrid, pageHeader, type PageContext } from './page';
import { breakdownPanels } from './workload-breakdown';

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
    canWrite() ? h('div', { class: 'form-pair' }, newWorkloadForm(), traceUpload()) : '',
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
  const breakdowns = breakdownPanels(hist);
  if (breakdowns) ctx.main.append(breakdowns);
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

interface Trace {
  id: string;
  name: string;
  numRequests: number;
  tenants: string[];
}

/** The upload's format from the file name (the API's `format`), and its content type. */
export function traceFormat(fileName: string): { format: 'csv' | 'jsonl'; type: string } {
  return /\.csv$/i.test(fileName)
    ? { format: 'csv', type: 'text/csv' }
    : { format: 'jsonl', type: 'application/x-ndjson' };
}

/**
 * A trace upload: drop a CSV or JSONL file (or pick one), watch it go up, read its problems by
 * line if the API refuses it, then make a workload profile that replays it.
 */
function traceUpload(): HTMLElement {
  const fileInput = h('input', { type: 'file', id: 'trace-file', accept: '.csv,.jsonl,.ndjson' });
  const zone = h(
    'div',
    { class: 'drop-zone', id: 'trace-drop', tabindex: 0 },
    'Drop a trace here (CSV or JSONL: request_id, arrival_time_s, input_tokens, output_tokens, …) or ',
    fileInput,
  );
  const status = h('div', { class: 'upload-status', id: 'trace-status', 'aria-live': 'polite' });
  const send = (file: File) => {
    const { format, type } = traceFormat(file.name);
    const bar = h('div', { id: 'trace-progress' }, progressBar(0, 'running'));
    status.replaceChildren(h('p', { class: 'muted small' }, `${file.name}, ${fmt(file.size)} bytes`), bar);
    const query = new URLSearchParams({ format, name: file.name });
    upload<Trace>(`/traces?${query}`, file, type, (f) => bar.replaceChildren(progressBar(f, 'running')))
      .then((t) => {
        bar.replaceChildren(progressBar(1, 'succeeded'));
        status.append(traceCreated(t));
      })
      .catch((err) => status.replaceChildren(h('p', {}, `${file.name} was not accepted:`), errorBox(err)));
  };
  fileInput.addEventListener('change', () => {
    if (fileInput.files?.[0]) send(fileInput.files[0]);
  });
  zone.addEventListener('dragover', (e) => {
    e.preventDefault();
    zone.classList.add('over');
  });
  zone.addEventListener('dragleave', () => zone.classList.remove('over'));
  zone.addEventListener('drop', (e) => {
    e.preventDefault();
    zone.classList.remove('over');
    const file = (e as DragEvent).dataTransfer?.files?.[0];
    if (file) send(file);
  });
  return h('section', { class: 'panel', id: 'trace-upload' }, h('h3', {}, 'Upload a trace'), zone, status);
}

/** After an upload: what the trace holds, and a workload profile that replays it. */
function traceCreated(t: Trace): HTMLElement {
  const name = h('input', {
    name: 'name',
    id: 'trace-profile-name',
    value: t.name.replace(/\.[a-z]+$/i, ''),
  });
  const make = h('button', { type: 'submit', id: 'trace-profile' }, 'Create workload profile');
  const form = h(
    'form',
    { class: 'trace-done' },
    h(
      'p',
      {},
      h('strong', {}, `${fmt(t.numRequests)} requests`),
      t.tenants.length ? `, tenants ${t.tenants.join(', ')}` : ', one tenant',
      '.',
    ),
    h(
      'div',
      { class: 'form-row' },
      h('label', { class: 'field' }, h('span', {}, 'Profile name'), name),
      make,
    ),
  );
  const out = h('div', { class: 'form-status' });
  form.append(out);
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    api<{ id: string }>('POST', '/workload-profiles', {
      name: name.value.trim() || t.name,
      workload: {},
      traceId: t.id,
    })
      .then((w) => (location.hash = `#/workload-profiles/${w.id}`))
      .catch((err) => out.replaceChildren(errorBox(err)));
  });
  return form;
}
