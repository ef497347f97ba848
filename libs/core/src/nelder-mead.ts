/**
 * Minimises f over R^n by the Nelder-Mead simplex method (standard coefficients). Deterministic:
 * ties in the simplex order break by vertex index. A non-finite value counts as the largest
 * number. `step` is the initial simplex's edge, one for all coordinates or one per coordinate;
 * the search stops after `maxEvals` evaluations of f or when the simplex's values agree within
 * `tolerance` (relative).
 */
export function nelderMead(
  f: (x: number[]) => number,
  x0: number[],
  opts: { step?: number | number[]; maxEvals?: number; tolerance?: number } = {},
): { x: number[]; value: number; evals: number } {
  const n = x0.length;
  const stepOf = (i: number): number => (Array.isArray(opts.step) ? opts.step[i] : (opts.step ?? 0.5));
  const maxEvals = opts.maxEvals ?? 200 * n;
  const tol = opts.tolerance ?? 1e-6;
  let evals = 0;
  const F = (x: number[]) => {
    evals++;
    const v = f(x);
    return Number.isFinite(v) ? v : Number.MAX_VALUE;
  };
  let simplex = [x0.slice()];
  for (let i = 0; i < n; i++) {
    const x = x0.slice();
    x[i] += stepOf(i);
    simplex.push(x);
  }
  let values = simplex.map(F);
  const add = (a: number[], b: number[], s: number) => a.map((v, i) => v + s * (b[i] - v));
  while (evals < maxEvals) {
    const order = values.map((v, i) => [v, i] as const).sort((a, b) => a[0] - b[0] || a[1] - b[1]);
    simplex = order.map(([, i]) => simplex[i]);
    values = order.map(([v]) => v);
    if (Math.abs(values[n] - values[0]) <= tol * (Math.abs(values[0]) + tol)) break;
    const centroid = new Array(n).fill(0);
    for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) centroid[j] += simplex[i][j] / n;
    const reflected = add(centroid, simplex[n], -1);
    const fr = F(reflected);
    if (fr < values[0]) {
      const expanded = add(centroid, simplex[n], -2);
      const fe = F(expanded);
      if (fe < fr) [simplex[n], values[n]] = [expanded, fe];
      else [simplex[n], values[n]] = [reflected, fr];
    } else if (fr < values[n - 1]) {
      [simplex[n], values[n]] = [reflected, fr];
    } else {
      const outside = fr < values[n];
      const contracted = add(centroid, outside ? reflected : simplex[n], 0.5);
      const fc = F(contracted);
      if (fc < (outside ? fr : values[n])) [simplex[n], values[n]] = [contracted, fc];
      else {
        for (let i = 1; i <= n; i++) {
          simplex[i] = add(simplex[0], simplex[i], 0.5);
          values[i] = F(simplex[i]);
        }
      }
    }
  }
  let best = 0;
  for (let i = 1; i <= n; i++) if (values[i] < values[best]) best = i;
  return { x: simplex[best], value: values[best], evals };
}
