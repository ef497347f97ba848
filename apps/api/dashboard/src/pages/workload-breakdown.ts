import { fmt, fmtPct, h, table } from '../dom';
import type { BreakdownRow, WorkloadHistograms } from '../types';

/** One breakdown as a table: requests, token share, the prefix tokens a cache could reuse. */
function breakdownTable(
  id: string,
  title: string,
  what: string,
  rows: BreakdownRow[],
  omitted: number,
): HTMLElement {
  return h(
    'section',
    { class: 'panel', 'aria-labelledby': `${id}-title` },
    h('h3', { id: `${id}-title` }, title),
    table(
      [
        what,
        'requests',
        'input tokens',
        'output tokens',
        'token share',
        'reusable prefix tokens',
        'prefix-hit potential',
      ],
      rows.map((r) => [
        r.name,
        fmt(r.requests),
        fmt(r.inputTokens),
        fmt(r.outputTokens),
        fmtPct(r.tokenShare),
        fmt(r.reusablePrefixTokens),
        fmtPct(r.prefixHitPotential),
      ]),
      { id },
    ),
    omitted ? h('p', { class: 'muted small' }, `${omitted} more with fewer requests are not listed.`) : null,
  );
}

/**
 * A workload's tenant and prefix-group breakdowns, where its requests carry either. The
 * prefix-hit potential is the share of input tokens a prefix cache that never evicts could serve
 * (every request's prefix after its group's first): an upper bound on what prefix caching saves.
 */
export function breakdownPanels(hist: WorkloadHistograms): HTMLElement | null {
  const b = hist.breakdown;
  if (!b || (!b.tenants.length && !b.prefixGroups.length)) return null;
  return h(
    'div',
    { class: 'breakdowns', id: 'workload-breakdowns' },
    h(
      'p',
      { class: 'lead', id: 'prefix-hit-potential' },
      `Prefix-hit potential of the whole workload: ${fmtPct(b.prefixHitPotential)} of input tokens (every prompt prefix after its group's first request, with a cache that never evicts).`,
    ),
    b.tenants.length
      ? breakdownTable('tenant-breakdown', 'By tenant', 'tenant', b.tenants, b.omitted.tenants)
      : null,
    b.prefixGroups.length
      ? breakdownTable(
          'prefix-group-breakdown',
          'By prefix group',
          'prefix group',
          b.prefixGroups,
          b.omitted.prefixGroups,
        )
      : null,
  );
}
