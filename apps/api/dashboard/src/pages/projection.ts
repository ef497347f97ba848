import { accuracyAtThreshold, accuracyTradeoffs, metricInfo } from '@kvplan/core';
import { api, download } from '../api';
import {
  errorBox,
  failurePanel,
  fmt,
  fmtMs,
  fmtPct,
  h,
  shortId,
  stat,
  statusBadge,
  table,
  timeAgo,
} from '../dom';
import {
  cdfOption,
  kvOption,
  metricAxisName,
  paretoOption,
  projectionHeatmap,
  rateSweepOption,
  sloTerm,
  sloText,
  tradeoffOption,
} from '../options';
import {
  intervalRows,
  intervalsOf,
  intervalText,
  levelText,
  withCdfIntervals,
  withInterval,
} from '../intervals';
import type { Metrics, Projection } from '../types';
import { chartGrid, followJob, pageHeader, retryButton, type Cleanup, type PageContext } from './page';

/** One projection: headline numbers and every chart, its failure, or live progress while it runs. */
export async function renderProjection(ctx: PageContext, id: string): Promise<Cleanup> {
  const p = await api<Projection>('GET', `/projections/${id}`);
  if (!ctx.isCurrent()) return () => undefined;
  // The job's own state is the truth (the projection's may lag it).
  const status = p.job?.status ?? p.status;
  const badge = h('span', { id: 'projection-status' }, statusBadge(status));
  const exportMsg = h('span', { class: 'export-status' });
  const csv = h('button', { type: 'button', class: 'button', id: 'export-csv' }, 'CSV');
  csv.addEventListener('click', () => {
    exportMsg.replaceChildren();
    download(`/projections/${p.id}/export?format=csv`, `projection-${p.id}.csv`).catch((err) =>
      exportMsg.replaceChildren(errorBox(err)),
    );
  });
  ctx.main.append(
    pageHeader(`Projection ${shortId(p.id)}`, badge, status === 'succeeded' ? csv : null),
    exportMsg,
  );
  if (status === 'failed' && p.job) {
    const failure = failurePanel(p.job);
    // Queued again: the page follows the job as for a new one.
    failure.append(
      retryButton(p.job, () => {
        if (ctx.isCurrent()) window.dispatchEvent(new HashChangeEvent('hashchange'));
      }),
    );
    ctx.main.append(failure);
    return () => undefined;
  }
  if (status !== 'succeeded' || !p.result) return renderPending(ctx, p, badge);
  renderResult(ctx.main, p);
  return () => undefined;
}

function renderPending(ctx: PageContext, p: Projection, badge: HTMLElement): Cleanup {
  return followJob(ctx, p.job!, badge, 'Simulating without and with fusion, then the sweeps…');
}

function fusedFraction(m: Record<string, unknown>): number | null {
  const f = m.fusion as { fused_fraction?: number } | null | undefined;
  return typeof f?.fused_fraction === 'number' ? f.fused_fraction : null;
}

function renderResult(main: HTMLElement, p: Projection): void {
  const r = p.result!;
  const a = r.withoutFusion;
  const b = r.withFusion;
  const c = r.charts;
  const term = sloTerm(p.spec.slo);
  const maxA = c?.rateSweep.withoutFusion?.maxRateMeetingSlo ?? null;
  const maxB = c?.rateSweep.withFusion?.maxRateMeetingSlo ?? null;
  main.append(
    h(
      'div',
      { class: 'stats' },
      stat(
        'output tokens/s',
        fmt(a.output_throughput),
        b ? `fused ${fmt(b.output_throughput)}` : 'no fusion asked',
      ),
      stat(
        'throughput gain',
        r.throughputGain ? `${fmt(r.throughputGain)}x` : '–',
        r.fusion ? `${r.fusion.mode} at ${r.fusion.threshold}, ${r.fusion.profileSource} profile` : '',
      ),
      latencyCard('p99 TTFT', 'p99_ttft_ms', a, b),
      latencyCard('p99 TPOT', 'p99_tpot_ms', a, b),
      stat(
        'KV peak',
        `${fmt(a.kv_peak_used_blocks)} / ${fmt(a.kv_blocks_total)}`,
        b ? `fused ${fmt(b.kv_peak_used_blocks)}` : 'blocks',
      ),
      stat(
        'max rate in SLO',
        term ? (maxA !== null ? `${fmt(maxA)} req/s` : 'none') : 'no SLO',
        term
          ? `${b ? `fused ${maxB !== null ? fmt(maxB) : 'none'} · ` : ''}${sloText(p.spec.slo)}`
          : 'set an SLO on the deployment',
      ),
      accuracyCard(p),
      calibrationCard(a),
      stat('preemptions', fmt(a.preemptions), b ? `fused ${fmt(b.preemptions)}` : ''),
      stat(
        'blocks fused away',
        b ? fmtPct(fusedFraction(b)) : '–',
        b ? 'share of KV blocks freed by fusion' : 'no fusion asked',
      ),
    ),
  );
  if (!c) {
    main.append(
      h(
        'p',
        { class: 'muted' },
        'This projection was computed before results carried chart data; run it again to see the charts.',
      ),
    );
    return;
  }
  main.append(intervalTable(p));
  // Each CDF series is named as runsOf names it: its run's stored intervals draw its error bars.
  const cdfRuns = {
    'no fusion': { metrics: a as unknown as Metrics, intervals: intervalsOf(a) },
    ...(b ? { fusion: { metrics: b as unknown as Metrics, intervals: intervalsOf(b) } } : {}),
  };
  const rs = c.rateSweep.withoutFusion;
  const fp = c.fusionProfile;
  chartGrid(main, [
    {
      name: 'rate-sweep',
      title: 'Throughput and tail latency against request rate',
      option: rateSweepOption(c.rateSweep, p.spec.slo),
      note: rs
        ? `${rs.points.length} rates from ${fmt(rs.points[0]?.rate)} to ${fmt(rs.points[rs.points.length - 1]?.rate)} req/s (the workload offers ${fmt(rs.offeredRate)}), ${rs.requests} requests each.${term ? ' Vertical lines: the highest rate meeting the SLO.' : ' No SLO on this projection.'}`
        : undefined,
      wide: true,
      height: 360,
    },
    {
      name: 'cdf-ttft',
      title: 'TTFT distribution',
      option: withCdfIntervals(cdfOption(c.latencyCdf, 'ttftMs', 'time to first token'), 'ttft', cdfRuns),
    },
    {
      name: 'cdf-tpot',
      title: 'TPOT distribution',
      option: withCdfIntervals(cdfOption(c.latencyCdf, 'tpotMs', 'time per output token'), 'tpot', cdfRuns),
    },
    {
      name: 'cdf-e2el',
      title: 'End-to-end latency distribution',
      option: withCdfIntervals(cdfOption(c.latencyCdf, 'e2elMs', 'end-to-end latency'), 'e2el', cdfRuns),
    },
    { name: 'kv-blocks', title: 'KV cache blocks in use', option: kvOption(c.kvBlocks) },
    {
      name: 'layer-compression',
      title: 'Compression per layer and threshold',
      option: projectionHeatmap(fp),
      note: fp
        ? fp.points?.length
          ? `${fp.source} fusion profile: measured at a batch of ${fp.points[0].batchSize ?? fp.points[0].window}. Layers outside the fused set stay at 1x.`
          : `${fp.source} fusion profile: predicted for a batch of ${fp.batchSize} sequences of ${fp.blocksPerSequence} blocks (this run's means). Layers outside the fused set stay at 1x.`
        : 'No fusion in this projection: ask for one with a fusion config.',
      height: fp ? Math.min(640, 150 + fp.numLayers * 11) : 320,
    },
    ...tradeoffCharts(p),
  ]);
  main.append(
    h(
      'details',
      { class: 'panel' },
      h('summary', {}, 'Simulation spec'),
      h('pre', { class: 'json' }, JSON.stringify(p.spec, null, 2)),
      h('p', { class: 'muted' }, `Created ${timeAgo(p.createdAt)}, result ${timeAgo(p.resultAt)}.`),
    ),
  );
}

/** The accuracy at the chosen threshold, every metric measured there, named with its direction. */
function accuracyCard(p: Projection): HTMLElement {
  const r = p.result!;
  const source = r.accuracy.source;
  const at = r.fusion ? accuracyAtThreshold(r.fusion.accuracy, r.fusion.threshold) : [];
  // Results stored before the full list was kept carry one entry in `accuracy`.
  const first =
    at[0] ??
    (r.accuracy.source !== 'none'
      ? { metric: r.accuracy.metric, value: r.accuracy.value, interval: r.accuracy.interval ?? null }
      : null);
  if (!first) return stat('accuracy', '–', r.fusion ? 'none measured at this threshold' : 'no fusion asked');
  const info = metricInfo(first.metric);
  const unit = info && info.unit !== 'ratio' && info.unit !== 'fraction' ? ` ${info.unit}` : '';
  const ci = first.interval ? ` · 95 % ${fmt(first.interval[0])} to ${fmt(first.interval[1])}` : '';
  const more = at.length > 1 ? ` · ${at.length - 1} more metric${at.length > 2 ? 's' : ''} below` : '';
  const card = stat(
    `accuracy at ${r.fusion?.threshold ?? ''}`,
    `${fmt(first.value)}${unit}`,
    `${metricAxisName({ metric: first.metric, info })}${ci} · ${source}${more}`,
  );
  card.id = 'accuracy-card';
  return card;
}

/**
 * Throughput at capacity against accuracy across thresholds: one chart per measured metric (its
 * values as stored, its own direction), or the threshold as the proxy when none was measured.
 */
function tradeoffCharts(p: Projection): Parameters<typeof chartGrid>[1] {
  const ts = p.result!.charts!.thresholdSweep;
  if (!ts)
    return [
      {
        name: 'pareto',
        title: 'Throughput at capacity across thresholds',
        option: null,
        note: 'No fusion in this projection.',
      },
    ];
  const saturated =
    'Throughput with the KV cache full (the sampled requests arrive as one burst); the dashed line is the same burst without fusion.';
  const tradeoffs = accuracyTradeoffs(ts.points, p.result!.fusion?.accuracy);
  if (!tradeoffs.length)
    return [
      {
        name: 'pareto',
        title: 'Throughput at capacity across thresholds',
        option: paretoOption(ts, ts.unfusedOutputThroughput),
        note: `${saturated} No measured accuracy in this fusion profile: the threshold stands in for it (a higher threshold fuses less and stays closer to the unfused model).`,
        height: 380,
      },
    ];
  return tradeoffs.map((t) => ({
    name: `accuracy:${t.metric}`,
    title: `Throughput at capacity and ${t.info?.label ?? t.metric}`,
    option: tradeoffOption(t, { chosen: ts.chosen, unfused: ts.unfusedOutputThroughput }),
    note:
      `${saturated} ${metricAxisName(t)}: the values the fusion profile stored, not interpolated` +
      `${t.info && !t.info.higherIsBetter ? '; the axis is turned over so better is up' : ''}` +
      `${t.points.some((x) => x.interval) ? '; whiskers are 95 % intervals' : ''}.` +
      (t.unmatched.length
        ? ` Measured at ${t.unmatched.join(', ')} without a throughput there: left out.`
        : ''),
    height: 380,
  }));
}

type Run = NonNullable<Projection['result']>['withoutFusion'];

/** A latency card: the value with its stored interval, and the fused run's. */
function latencyCard(label: string, metric: string, a: Run, b: Run | null): HTMLElement {
  const m = (r: Run) => (r as unknown as Metrics)[metric];
  const card = stat(
    label,
    fmtMs(m(a)),
    [
      intervalText(metric, intervalsOf(a), fmtMs),
      b ? `fused ${withInterval(m(b), metric, intervalsOf(b), fmtMs)}` : '',
    ]
      .filter(Boolean)
      .join(' · '),
  );
  card.dataset.metric = metric;
  return card;
}

/** Where the GPU's kernel times come from, which sets how wide every interval is. */
function calibrationCard(a: Run): HTMLElement {
  const iv = intervalsOf(a);
  const card = stat(
    'calibration',
    iv?.calibrated ?? '–',
    iv
      ? `${levelText(iv)} intervals from this class's residuals against measured runs, and the spread over seeds`
      : 'stored before results carried intervals',
  );
  card.id = 'calibration-card';
  return card;
}

/** Every latency metric with its interval, without and with fusion. */
function intervalTable(p: Projection): HTMLElement {
  const r = p.result!;
  const runs = [r.withoutFusion, ...(r.withFusion ? [r.withFusion] : [])].map((x) => ({
    metrics: x as unknown as Metrics,
    intervals: intervalsOf(x),
  }));
  const rows = intervalRows(runs, fmtMs);
  const iv = runs[0].intervals;
  return h(
    'details',
    { class: 'panel', id: 'intervals' },
    h(
      'summary',
      {},
      iv ? `Latency with ${levelText(iv)} intervals (calibration: ${iv.calibrated})` : 'Latency intervals',
    ),
    rows.length
      ? table(['metric', 'no fusion', ...(r.withFusion ? ['fusion'] : [])], rows, { id: 'intervals-table' })
      : h('p', { class: 'muted' }, 'This result was stored before results carried intervals.'),
  );
}
