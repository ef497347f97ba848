import { ApiError, api } from '../api';
import {
  COMPARE_COLORS,
  MAX_COMPARED,
  compareCdfOption,
  compareHash,
  compareKvOption,
  compareLatencyOption,
  comparePlansOption,
  compareThroughputOption,
  isSweepMode,
  parseSelection,
  type Compared,
} from '../compare-options';
import { intervalsOf, withInterval } from '../intervals';
import { distinctLines, fmt, fmtMs, h, shortId, statusBadge, table } from '../dom';
import type { CapacityPlan, Page, Projection, ProjectionSummary } from '../types';
import { chartGrid, pageHeader, type PageContext } from './page';

type Item =
  | { kind: 'projection'; id: string; color: string; label: string; projection: Projection }
  | { kind: 'plan'; id: string; color: string; label: string; plan: CapacityPlan }
  | { kind: 'projection' | 'plan'; id: string; color: string; label: string; missing: string };

const noun = (kind: Item['kind']) => (kind === 'plan' ? 'capacity plan' : 'projection');
const hrefOf = (kind: Item['kind'], id: string) =>
  kind === 'plan' ? `#/capacity-plans/${id}` : `#/projections/${id}`;

/** "h100-sxm · Llama-3.1-8B · bff 0.72": what a projection's spec ran. */
function specText(spec: Record<string, unknown> & { fusion?: { mode: string; threshold: number } }): string {
  const model = typeof spec.model === 'string' ? spec.model.split('/').pop() : null;
  return [
    typeof spec.gpu === 'string' ? spec.gpu : null,
    model,
    typeof spec.tensorParallel === 'number' && spec.tensorParallel > 1 ? `TP${spec.tensorParallel}` : null,
    spec.fusion ? `${spec.fusion.mode} ${spec.fusion.threshold}` : 'no fusion',
  ]
    .filter(Boolean)
    .join(' · ');
}

/** Why an item cannot be drawn, or null when it can. */
function problemOf(item: Item): string | null {
  if ('missing' in item) return item.missing;
  const job = item.kind === 'projection' ? item.projection.job : item.plan.job;
  const status = job?.status ?? (item.kind === 'projection' ? item.projection.status : item.plan.status);
  if (status === 'failed') {
    const first = distinctLines(job?.error ?? '')[0]?.line ?? 'no error message';
    return `${noun(item.kind)} ${shortId(item.id)} failed (${first.slice(0, 160)}): it has no curves to compare.`;
  }
  if (status !== 'succeeded')
    return `${noun(item.kind)} ${shortId(item.id)} is ${status ?? 'not started'} (${Math.round((job?.progress ?? 0) * 100)} %): its curves come when it finishes.`;
  if (item.kind === 'plan' && 'plan' in item && !isSweepMode(item.plan.mode))
    return `capacity plan ${shortId(item.id)} is a ${item.plan.mode} plan: only plans that sweep one thing (max-rate, min-gpus, pareto) are overlaid; its own page compares its configurations.`;
  if (item.kind === 'projection' && !item.projection.result?.charts)
    return `projection ${shortId(item.id)} was computed before results carried chart data: run it again to compare it.`;
  return null;
}

async function load(kind: Item['kind'], id: string, color: string): Promise<Item> {
  const label = shortId(id);
  try {
    if (kind === 'projection') {
      const projection = await api<Projection>('GET', `/projections/${id}`);
      return { kind, id, color, label: `${label} ${specText(projection.spec)}`, projection };
    }
    const plan = await api<CapacityPlan>('GET', `/capacity-plans/${id}`);
    return { kind, id, color, label: `${label} ${plan.mode}`, plan };
  } catch (err) {
    const missing =
      err instanceof ApiError && err.status === 404
        ? `${noun(kind)} ${id} is not in this workspace (unknown id).`
        : `${noun(kind)} ${shortId(id)} could not be read: ${(err as Error).message}`;
    return { kind, id, color, label, missing };
  }
}

/**
 * Two to four projections or capacity plans overlaid: latency CDFs, rate sweeps and KV curves of
 * the projections, the sweeps of plans of one mode. The selection is the route's query, so a
 * reload or a shared link shows the same; what cannot be drawn is said, never left blank.
 */
export async function renderCompare(ctx: PageContext): Promise<void> {
  const sel = parseSelection(ctx.query);
  const wanted = [
    ...sel.projections.map((id) => ['projection', id] as const),
    ...sel.plans.map((id) => ['plan', id] as const),
  ];
  // Past four nothing is fetched: the link is refused whole, with a way to untick.
  const [items, candidates] = await Promise.all([
    wanted.length > MAX_COMPARED
      ? wanted.map(([kind, id]): Item => ({ kind, id, color: '#868e96', label: shortId(id), missing: '' }))
      : Promise.all(wanted.map(([kind, id], i) => load(kind, id, COMPARE_COLORS[i]))),
    wanted.length < MAX_COMPARED ? newest() : [],
  ]);
  if (!ctx.isCurrent()) return;
  const problems = [...sel.problems, ...(wanted.length > MAX_COMPARED ? [] : items.map(problemOf))].filter(
    (p): p is string => Boolean(p),
  );
  ctx.main.append(pageHeader('Compare', h('span', { class: 'muted' }, `${items.length} selected`)));
  if (problems.length)
    ctx.main.append(
      h(
        'div',
        { class: 'error', role: 'alert', id: 'compare-problems' },
        h('ul', {}, ...problems.map((p) => h('li', {}, p))),
        h(
          'p',
          { class: 'small' },
          'Tick two to four in ',
          h('a', { href: '#/projections' }, 'Projections'),
          ' or ',
          h('a', { href: '#/capacity-plans' }, 'Capacity plans'),
          '.',
        ),
      ),
    );
  if (items.length) ctx.main.append(summary(items, sel));
  const add = adder(
    candidates.filter((c) => !(c.kind === 'plan' ? sel.plans : sel.projections).includes(c.id)),
    sel,
  );
  if (add) ctx.main.append(add);
  if (wanted.length > MAX_COMPARED) return;

  const ok = items.filter((i) => !problemOf(i));
  const projections = ok.flatMap((i) =>
    i.kind === 'projection' && 'projection' in i ? [{ ...i, charts: i.projection.result!.charts! }] : [],
  );
  const plans = ok.flatMap((i) => (i.kind === 'plan' && 'plan' in i ? [{ ...i, plan: i.plan }] : []));
  const of = <T>(
    pick: (c: (typeof projections)[number]['charts']) => Compared<T>['pair'],
  ): Array<Compared<T>> => projections.map((p) => ({ label: p.label, color: p.color, pair: pick(p.charts) }));
  const charts: Parameters<typeof chartGrid>[1] = [];
  if (projections.length) {
    const sweeps = of((c) => c.rateSweep);
    const cdfs = of((c) => c.latencyCdf);
    charts.push(
      {
        name: 'compare-throughput',
        title: 'Output throughput against request rate',
        option: compareThroughputOption(sweeps),
        note: 'Solid: without fusion; dashed: with fusion. Vertical lines: each run’s highest rate meeting its SLO.',
        wide: true,
        height: 380,
      },
      {
        name: 'compare-latency',
        title: 'Tail latency against request rate',
        option: compareLatencyOption(
          sweeps,
          projections.map((p) => p.projection.spec.slo),
        ),
        note: 'The SLO line is drawn when every projection has the same first term.',
        wide: true,
        height: 380,
      },
      {
        name: 'compare-cdf-ttft',
        title: 'TTFT distribution',
        option: compareCdfOption(cdfs, 'ttftMs', 'time to first token'),
      },
      {
        name: 'compare-cdf-tpot',
        title: 'TPOT distribution',
        option: compareCdfOption(cdfs, 'tpotMs', 'time per output token'),
      },
      {
        name: 'compare-cdf-e2el',
        title: 'End-to-end latency distribution',
        option: compareCdfOption(cdfs, 'e2elMs', 'end-to-end latency'),
      },
      {
        name: 'compare-kv',
        title: 'KV cache in use (share of each run’s blocks)',
        option: compareKvOption(of((c) => c.kvBlocks)),
      },
    );
  }
  if (plans.length) {
    const modes = [...new Set(plans.map((p) => p.plan.mode))];
    for (const mode of modes)
      charts.push({
        name: `compare-plans-${mode}`,
        title: `Capacity plans (${mode}): throughput and p99 TTFT across the sweep`,
        option: comparePlansOption(plans.filter((p) => p.plan.mode === mode)),
        note:
          modes.length > 1
            ? 'Plans of different modes sweep different things: one chart per mode.'
            : 'Solid: output tokens/s (points green when they meet the SLO); dashed: p99 TTFT.',
        wide: true,
        height: 380,
      });
  }
  if (charts.length) chartGrid(ctx.main, charts);
}

interface Candidate {
  kind: 'projection' | 'plan';
  id: string;
  label: string;
}

/** The newest finished projections and plans of the workspace, to add (none when they cannot be read). */
async function newest(): Promise<Candidate[]> {
  try {
    const [ps, plans] = await Promise.all([
      api<Page<ProjectionSummary>>('GET', '/dashboard/projections?limit=20'),
      api<Page<CapacityPlan>>('GET', '/capacity-plans?limit=20'),
    ]);
    return [
      ...ps.items
        .filter((p) => p.status === 'succeeded')
        .map((p): Candidate => ({
          kind: 'projection',
          id: p.id,
          label: `projection ${shortId(p.id)} · ${p.deploymentName ?? '?'} · ${p.workloadProfileName ?? '?'}${p.fusionConfigName ? ` · ${p.fusionConfigName}` : ''}`,
        })),
      ...plans.items
        .filter((p) => p.result && isSweepMode(p.mode))
        .map((p): Candidate => ({
          kind: 'plan',
          id: p.id,
          label: `capacity plan ${shortId(p.id)} · ${p.mode}`,
        })),
    ];
  } catch {
    return [];
  }
}

/** A picker that adds one more projection or plan to the selection (its link). */
function adder(candidates: Candidate[], sel: { projections: string[]; plans: string[] }): HTMLElement | null {
  if (!candidates.length || sel.projections.length + sel.plans.length >= MAX_COMPARED) return null;
  const pick = h(
    'select',
    { id: 'compare-add', 'aria-label': 'Projection or capacity plan to add' },
    ...candidates.map((c) => h('option', { value: `${c.kind}:${c.id}` }, c.label)),
  );
  const button = h('button', { type: 'button', class: 'button-secondary', id: 'compare-add-button' }, 'Add');
  button.addEventListener('click', () => {
    const [kind, id] = pick.value.split(':');
    location.hash = compareHash(
      kind === 'plan'
        ? { projections: sel.projections, plans: [...sel.plans, id] }
        : { projections: [...sel.projections, id], plans: sel.plans },
    );
  });
  return h('div', { class: 'compare-bar panel' }, pick, button);
}

/** One row per item: its colour, link, what it ran, state, headline numbers and an untick link. */
function summary(items: Item[], sel: { projections: string[]; plans: string[] }): HTMLElement {
  const without = (kind: Item['kind'], id: string) =>
    compareHash({
      projections: sel.projections.filter((x) => kind !== 'projection' || x !== id),
      plans: sel.plans.filter((x) => kind !== 'plan' || x !== id),
    });
  const rows = items.map((i) => {
    const swatch = h('span', { class: 'swatch', style: `background:${i.color}`, 'aria-hidden': 'true' });
    const link = h('a', { href: hrefOf(i.kind, i.id), class: 'mono' }, shortId(i.id));
    const untick = h(
      'a',
      { href: without(i.kind, i.id), class: 'small', 'aria-label': `Remove ${shortId(i.id)}` },
      'remove',
    );
    if ('missing' in i)
      return [
        swatch,
        link,
        noun(i.kind),
        i.missing ? h('span', { class: 'bad' }, 'unavailable') : h('span', { class: 'muted' }, 'not loaded'),
        '–',
        '–',
        '–',
        untick,
      ];
    if (i.kind === 'projection' && 'projection' in i) {
      const p = i.projection;
      const r = p.result;
      const fused = r?.withFusion;
      const max = r?.charts?.rateSweep;
      return [
        swatch,
        link,
        specText(p.spec),
        statusBadge(p.job?.status ?? p.status),
        r
          ? `${fmt(r.withoutFusion.output_throughput)}${fused ? ` / ${fmt(fused.output_throughput)}` : ''}`
          : '–',
        r
          ? [r.withoutFusion, fused]
              .filter((x) => x)
              .map((x) => withInterval(x!.p99_ttft_ms, 'p99_ttft_ms', intervalsOf(x), fmtMs))
              .join(' / ')
          : '–',
        max
          ? [max.withoutFusion, max.withFusion]
              .filter((x) => x)
              .map((x) => (x!.maxRateMeetingSlo === null ? 'none' : `${fmt(x!.maxRateMeetingSlo)} req/s`))
              .join(' / ')
          : '–',
        untick,
      ];
    }
    const plan = 'plan' in i ? i.plan : null;
    return [
      swatch,
      link,
      `capacity plan, ${plan?.mode ?? ''}, ${plan?.points.length ?? 0} points`,
      statusBadge(plan?.job?.status ?? plan?.status),
      '–',
      '–',
      '–',
      untick,
    ];
  });
  return h(
    'section',
    { class: 'panel' },
    table(
      ['', 'item', 'what', 'status', 'tok/s (no fusion / fusion)', 'p99 TTFT', 'max rate in SLO', ''],
      rows,
      {
        id: 'compare-table',
      },
    ),
  );
}

/**
 * Tick boxes for a list's rows and the button that compares what is ticked (two to four). The
 * list calls `box(id)` per row and places `bar` above its table.
 */
export function compareTicks(kind: 'projections' | 'plans'): {
  box: (id: string) => HTMLElement;
  bar: HTMLElement;
} {
  const ticked: string[] = [];
  const status = h('span', { class: 'muted small', 'aria-live': 'polite' }, 'Tick two to four to compare.');
  const button = h(
    'button',
    { type: 'button', class: 'button-secondary', id: `compare-${kind}`, disabled: true },
    'Compare',
  );
  const sync = () => {
    const n = ticked.length;
    button.disabled = n < 2 || n > MAX_COMPARED;
    button.textContent = `Compare ${n || ''}`.trim();
    status.textContent =
      n > MAX_COMPARED
        ? `${n} ticked: at most ${MAX_COMPARED}.`
        : n < 2
          ? 'Tick two to four to compare.'
          : '';
  };
  button.addEventListener('click', () => {
    location.hash = compareHash(
      kind === 'plans' ? { projections: [], plans: ticked } : { projections: ticked, plans: [] },
    );
  });
  const box = (id: string) => {
    const cb = h('input', {
      type: 'checkbox',
      class: 'compare-tick',
      'data-id': id,
      'aria-label': `Compare ${shortId(id)}`,
    });
    cb.addEventListener('change', () => {
      const at = ticked.indexOf(id);
      if (cb.checked && at < 0) ticked.push(id);
      if (!cb.checked && at >= 0) ticked.splice(at, 1);
      sync();
    });
    return cb;
  };
  return { box, bar: h('div', { class: 'compare-bar' }, button, ' ', status) };
}
