import type { BreakdownRow, WorkloadBreakdown } from '@kvplan/core';
import type { Workload } from '../types';

export type { BreakdownRow, WorkloadBreakdown };

const NONE = '(none)';

/**
 * Requests, token share and prefix-hit potential per tenant and per prefix group. A request's
 * prefix tokens count as reusable when an earlier request (in arrival order) had the same prefix
 * group: the most a prefix cache that never evicts could serve. Rows are ordered by requests
 * (then name); at most `limit` per breakdown.
 */
export function workloadBreakdown(w: Workload, limit = 50): WorkloadBreakdown {
  const seen = new Set<number>();
  const reusable = new Float64Array(w.n);
  let totalTokens = 0;
  let totalInput = 0;
  let totalReusable = 0;
  for (let i = 0; i < w.n; i++) {
    const g = w.prefixGroup[i];
    if (g >= 0) {
      if (seen.has(g)) reusable[i] = Math.min(w.prefixTokens[i], w.inputTokens[i]);
      else seen.add(g);
    }
    totalTokens += w.inputTokens[i] + w.outputTokens[i];
    totalInput += w.inputTokens[i];
    totalReusable += reusable[i];
  }
  const by = (col: Int32Array, names: string[]) => {
    const rows = new Map<number, Omit<BreakdownRow, 'tokenShare' | 'prefixHitPotential'>>();
    for (let i = 0; i < w.n; i++) {
      const k = col[i] >= 0 ? col[i] : -1;
      let r = rows.get(k);
      if (!r) {
        r = {
          name: k >= 0 ? (names[k] ?? `#${k}`) : NONE,
          requests: 0,
          inputTokens: 0,
          outputTokens: 0,
          reusablePrefixTokens: 0,
        };
        rows.set(k, r);
      }
      r.requests++;
      r.inputTokens += w.inputTokens[i];
      r.outputTokens += w.outputTokens[i];
      r.reusablePrefixTokens += reusable[i];
    }
    const all = [...rows.values()]
      .map((r) => ({
        ...r,
        tokenShare: totalTokens > 0 ? (r.inputTokens + r.outputTokens) / totalTokens : 0,
        prefixHitPotential: r.inputTokens > 0 ? r.reusablePrefixTokens / r.inputTokens : 0,
      }))
      .sort((a, b) => b.requests - a.requests || a.name.localeCompare(b.name));
    // A workload with no names at all has nothing to break down.
    return all.length === 1 && all[0].name === NONE ? [] : all;
  };
  const tenants = by(w.tenant, w.tenantNames);
  const prefixGroups = by(w.prefixGroup, w.prefixGroupNames);
  return {
    tenants: tenants.slice(0, limit),
    prefixGroups: prefixGroups.slice(0, limit),
    omitted: {
      tenants: Math.max(0, tenants.length - limit),
      prefixGroups: Math.max(0, prefixGroups.length - limit),
    },
    prefixHitPotential: totalInput > 0 ? totalReusable / totalInput : 0,
  };
}
