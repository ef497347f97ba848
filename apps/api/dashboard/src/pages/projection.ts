import { api, watchJob } from '../api';
import { fmt, fmtMs, fmtPct, h, progressBar, shortId, stat, statusBadge, timeAgo } from '../dom';
import { cdfOption, kvOption, paretoOption, projectionHeatmap, rateSweepOption, sloTerm } from '../options';
import type { Projection } from '../types';
import { chartGrid, pageHeader, type Cleanup, type PageContext } from './page';

/** One projection: headline numbers and every chart, or live progress while its job runs. */
export async function renderProjection(ctx: PageContext, id: string): Promise<Cleanup> {
  const p = await api<Projection>('GET', `/projections/${id}`);
  if (!ctx.isCurrent()) return () => undefined;
  ctx.main.append(
    pageHeader(
      `Projection ${shortId(p.id)}`,
      statusBadge(p.status),
      h(
        'a',
        {
          class: 'button',
          href: `/api/v1/projections/${p.id}/export?format=csv`,
          download: '',
          id: 'export-csv',
        },
        'CSV',
      ),
    ),
  );
  if (p.status !== 'succeeded' || !p.result) return renderPending(ctx, p);
  renderResult(ctx.main, p);
  return () => undefined;
}

function renderPending(ctx: PageContext, p: Projection): Cleanup {
  const job = p.job!;
  const bar = h('div', { id: 'job-progress' }, progressBar(job.progress, job.status));
  const text = h(
    'p',
    { class: 'muted' },
    job.status === 'failed'
      ? `Failed: ${job.error ?? 'unknown error'}`
      : 'Simulating without and with fusion, then the sweeps…',
  );
  ctx.main.append(h('section', { class: 'panel' }, h('h3', {}, `Job ${shortId(job.id)}`), bar, text));
  if (job.status === 'failed') return () => undefined;
  let stop: () => void = () => undefined;
  let poll: ReturnType<typeof setInterval> | undefined;
  const done = () => {
    if (ctx.isCurrent()) window.dispatchEvent(new HashChangeEvent('hashchange'));
  };
  const onEvent = (e: { status: string; progress: number; error: string | null }) => {
    bar.replaceChildren(progressBar(e.progress, e.status));
    if (e.status === 'failed') text.replaceChildren(`Failed: ${e.error ?? 'unknown error'}`);
    if (e.status === 'succeeded') done();
  };
  // Live over SSE; should the stream break before the end, poll the job instead.
  const fallback = () => {
    poll = setInterval(() => {
      void api<{ status: string; progress: number; error: string | null }>('GET', `/jobs/${job.id}`).then(
        (j) => {
          onEvent(j);
          if (j.status === 'succeeded' || j.status === 'failed') clearInterval(poll);
        },
      );
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
      stat('p99 TTFT', fmtMs(a.p99_ttft_ms), b ? `fused ${fmtMs(b.p99_ttft_ms)}` : ''),
      stat('p99 TPOT', fmtMs(a.p99_tpot_ms), b ? `fused ${fmtMs(b.p99_tpot_ms)}` : ''),
      stat(
        'KV peak',
        `${fmt(a.kv_peak_used_blocks)} / ${fmt(a.kv_blocks_total)}`,
        b ? `fused ${fmt(b.kv_peak_used_blocks)}` : 'blocks',
      ),
      stat(
        'max rate in SLO',
        term ? (maxA !== null ? `${fmt(maxA)} req/s` : 'none') : 'no SLO',
        term
          ? `${b ? `fused ${maxB !== null ? fmt(maxB) : 'none'} · ` : ''}${term.label} ${term.quantile} ≤ ${fmt(term.boundMs)} ms`
          : 'set an SLO on the deployment',
      ),
      stat(
        'accuracy',
        r.accuracy.source !== 'none' ? fmt(r.accuracy.value) : '–',
        `source: ${r.accuracy.source}`,
      ),
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
      option: cdfOption(c.latencyCdf, 'ttftMs', 'time to first token'),
    },
    {
      name: 'cdf-tpot',
      title: 'TPOT distribution',
      option: cdfOption(c.latencyCdf, 'tpotMs', 'time per output token'),
    },
    {
      name: 'cdf-e2el',
      title: 'End-to-end latency distribution',
      option: cdfOption(c.latencyCdf, 'e2elMs', 'end-to-end latency'),
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
    {
      name: 'pareto',
      title: 'Throughput at capacity and accuracy across thresholds',
      option: paretoOption(c.thresholdSweep, c.thresholdSweep?.unfusedOutputThroughput),
      note: c.thresholdSweep
        ? 'Throughput with the KV cache full (the sampled requests arrive as one burst). ' +
          (c.thresholdSweep.accuracyMetric
            ? `Accuracy from the fusion profile (${c.thresholdSweep.accuracyMetric}), linear between its measured thresholds; thresholds outside them are left out.`
            : 'No measured accuracy in this fusion profile: the threshold stands in for it (a higher threshold fuses less and stays closer to the unfused model).')
        : 'No fusion in this projection.',
      height: 380,
    },
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
