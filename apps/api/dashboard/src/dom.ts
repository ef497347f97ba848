/** Tiny DOM helpers: elements from tags, attributes and children; number and time formats. */

type Child = Node | string | number | null | undefined | false;
type Attrs = Record<string, string | number | boolean | null | undefined | EventListener>;

export function h<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attrs: Attrs = {},
  ...children: Child[]
): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === null || v === undefined || v === false) continue;
    if (typeof v === 'function') el.addEventListener(k.replace(/^on/, '').toLowerCase(), v);
    else if (v === true) el.setAttribute(k, '');
    else el.setAttribute(k, String(v));
  }
  append(el, ...children);
  return el;
}

export function append(el: Element, ...children: Child[]): void {
  for (const c of children) {
    if (c === null || c === undefined || c === false) continue;
    el.append(c instanceof Node ? c : String(c));
  }
}

export function clear(el: Element): void {
  while (el.firstChild) el.removeChild(el.firstChild);
}

/** A number with `digits` significant digits and thousands separators; an en dash for none. */
export function fmt(x: number | null | undefined, digits = 3): string {
  if (x === null || x === undefined || !Number.isFinite(x)) return '–';
  if (x === 0) return '0';
  const abs = Math.abs(x);
  if (abs >= 10 ** digits) return Math.round(x).toLocaleString('en-US');
  return Number(x.toPrecision(digits)).toLocaleString('en-US', { maximumFractionDigits: 6 });
}

export function fmtMs(ms: number | null | undefined): string {
  if (ms === null || ms === undefined || !Number.isFinite(ms)) return '–';
  return ms >= 10_000 ? `${fmt(ms / 1000)} s` : `${fmt(ms)} ms`;
}

export function fmtPct(x: number | null | undefined): string {
  return x === null || x === undefined || !Number.isFinite(x) ? '–' : `${fmt(x * 100, 3)} %`;
}

export function timeAgo(iso: string | null | undefined): string {
  if (!iso) return '–';
  const s = (Date.now() - Date.parse(iso)) / 1000;
  if (s < 60) return `${Math.max(0, Math.round(s))} s ago`;
  if (s < 3600) return `${Math.round(s / 60)} min ago`;
  if (s < 86400) return `${Math.round(s / 3600)} h ago`;
  return new Date(iso).toISOString().slice(0, 16).replace('T', ' ');
}

/** Seconds between two ISO times, "12.3 s". */
export function seconds(from: string, to: string): string {
  return `${((Date.parse(to) - Date.parse(from)) / 1000).toFixed(1)} s`;
}

export function shortId(id: string): string {
  return id.slice(0, 8);
}

export function statusBadge(status: string | null | undefined): HTMLElement {
  return h('span', { class: `badge badge-${status ?? 'none'}`, 'data-status': status ?? '' }, status ?? '–');
}

export function progressBar(fraction: number, status?: string): HTMLElement {
  const pct = Math.round(Math.max(0, Math.min(1, fraction)) * 100);
  return h(
    'div',
    {
      class: `progress ${status ? `progress-${status}` : ''}`,
      role: 'progressbar',
      'aria-valuenow': pct,
      'aria-valuemin': 0,
      'aria-valuemax': 100,
      'aria-label': `${status ?? 'progress'}: ${pct} %`,
    },
    h('div', { class: 'progress-fill', style: `width:${pct}%` }),
    h('span', { class: 'progress-text' }, `${pct} %`),
  );
}

/** A table from column headers and rows of cells. */
export function table(headers: string[], rows: Child[][], attrs: Attrs = {}): HTMLTableElement {
  return h(
    'table',
    { class: 'grid', ...attrs },
    h('thead', {}, h('tr', {}, ...headers.map((x) => h('th', {}, x)))),
    h('tbody', {}, ...rows.map((r) => h('tr', {}, ...r.map((c) => h('td', {}, c))))),
  );
}

/** A labelled number card. */
export function stat(label: string, value: string, sub?: string): HTMLElement {
  return h(
    'div',
    { class: 'stat' },
    h('div', { class: 'stat-label' }, label),
    h('div', { class: 'stat-value' }, value),
    sub ? h('div', { class: 'stat-sub' }, sub) : null,
  );
}

export function errorBox(err: unknown): HTMLElement {
  const e = err as { message?: string; body?: { issues?: Array<{ path: string; message: string }> } };
  return h(
    'div',
    { class: 'error', role: 'alert' },
    e?.message ?? String(err),
    e?.body?.issues?.length
      ? h('ul', {}, ...e.body.issues.map((i) => h('li', {}, h('code', {}, i.path), ': ', i.message)))
      : null,
  );
}

/** The distinct lines of an error text in first-seen order, each with how often it occurred. */
export function distinctLines(text: string): Array<{ line: string; count: number }> {
  const seen = new Map<string, number>();
  for (const raw of text.split('\n')) {
    const line = raw.trimEnd();
    if (line) seen.set(line, (seen.get(line) ?? 0) + 1);
  }
  return [...seen].map(([line, count]) => ({ line, count }));
}

/** A failed job: its state, its error (repeated lines once, with a count) and its attempts. */
export function failurePanel(job: { id: string; error: string | null; attempts?: number }): HTMLElement {
  const lines = distinctLines(job.error ?? '');
  return h(
    'section',
    { class: 'panel failure', id: 'job-failure', role: 'alert' },
    h('h3', {}, 'Job ', h('span', { class: 'mono' }, shortId(job.id)), ' ', statusBadge('failed')),
    lines.length
      ? h(
          'pre',
          { class: 'error-text' },
          lines.map((l) => (l.count > 1 ? `${l.line}   (×${l.count})` : l.line)).join('\n'),
        )
      : h('p', { class: 'muted' }, 'The job failed without an error message.'),
    job.attempts
      ? h('p', { class: 'muted small' }, `after ${job.attempts} attempt${job.attempts > 1 ? 's' : ''}`)
      : null,
  );
}

/** A status cell of a list: the badge when finished (failed with its error), else a progress bar. */
export function statusCell(status: string | null | undefined, progress: number, error?: string | null): Node {
  if (status === 'succeeded') return statusBadge(status);
  if (status === 'failed')
    return h(
      'span',
      { class: 'status-failed', title: error ?? '' },
      statusBadge(status),
      error
        ? h(
            'span',
            { class: 'muted small error-snippet' },
            ` ${distinctLines(error)[0]?.line.slice(0, 80) ?? ''}`,
          )
        : null,
    );
  return progressBar(progress, status ?? undefined);
}
