/**
 * A metric's value with its 95 % interval. `sources` says what the interval accounts for, so a
 * reader knows how far to trust it: today the spread over seeds; the calibration residuals of the
 * time model widen it where a caller supplies them.
 */
export interface MetricInterval {
  mean: number;
  lo: number;
  hi: number;
  /** Number of samples (seeds) behind the mean. */
  n: number;
  sources: Array<'seeds'>;
}

/**
 * The one interval policy of kvplan: mean over seeds and a Student-t 95 % interval of that mean.
 * With one sample the interval is the point itself.
 */
export function metricInterval(samples: number[]): MetricInterval {
  const n = samples.length;
  const mean = samples.reduce((a, b) => a + b, 0) / n;
  if (n < 2) return { mean, lo: mean, hi: mean, n, sources: [] };
  const sd = Math.sqrt(samples.reduce((a, b) => a + (b - mean) ** 2, 0) / (n - 1));
  const half = tQuantile975(n - 1) * (sd / Math.sqrt(n));
  return { mean, lo: mean - half, hi: mean + half, n, sources: ['seeds'] };
}

/** Two-sided 95 % quantile of Student's t with `df` degrees of freedom (table, then interpolated). */
function tQuantile975(df: number): number {
  const table = [
    12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179, 2.16, 2.145, 2.131,
  ];
  if (df <= table.length) return table[df - 1];
  if (df <= 30) return 2.042 + ((30 - df) / 15) * (2.131 - 2.042);
  return 1.96 + 2.4 / df;
}
