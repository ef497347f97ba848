/**
 * Pareto dominance with explicit directions, the one definition behind every front kvplan draws
 * or reports (capacity sweeps, projection threshold sweeps, the dashboard).
 *
 * A missing value (null, undefined, NaN) is worse than any present one and equal to another
 * missing one: a run without a price never wins on cost by scoring 0. Infeasible points (for
 * example a configuration that meets the SLOs at no rate) are never on a front and never
 * dominate anything.
 */
export interface Objective<T> {
  value: (p: T) => number | null | undefined;
  higherIsBetter: boolean;
}

/** -1 when a is better than b on the objective, 1 when worse, 0 when equal. */
function compare<T>(a: T, b: T, o: Objective<T>): number {
  const va = present(o.value(a));
  const vb = present(o.value(b));
  if (va === null && vb === null) return 0;
  if (va === null) return 1;
  if (vb === null) return -1;
  if (va === vb) return 0;
  return va > vb === o.higherIsBetter ? -1 : 1;
}

function present(v: number | null | undefined): number | null {
  return v === null || v === undefined || Number.isNaN(v) ? null : v;
}

/** a dominates b: at least as good on every objective and strictly better on one. */
export function dominates<T>(a: T, b: T, objectives: readonly Objective<T>[]): boolean {
  let better = false;
  for (const o of objectives) {
    const c = compare(a, b, o);
    if (c > 0) return false;
    if (c < 0) better = true;
  }
  return better;
}

/**
 * The points of `points` that are feasible and dominated by no other feasible point, in their
 * input order.
 */
export function paretoFront<T>(
  points: readonly T[],
  objectives: readonly Objective<T>[],
  feasible: (p: T) => boolean = () => true,
): T[] {
  const candidates = points.filter(feasible);
  return candidates.filter((p) => !candidates.some((q) => q !== p && dominates(q, p, objectives)));
}
