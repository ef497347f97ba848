/**
 * How sure a projection is, as the page shows it: the intervals a result stores (libs/sim's one
 * interval policy, `projectionInterval`: the calibration residuals of the GPU's class with the
 * spread over seeds), never recomputed here. Pure, so it is unit-tested.
 */
import { niceCeil, type Option } from './options';
import type { Metrics } from './types';

/** A result's stored intervals (absent on results stored before they were kept). */
export interface StoredIntervals {
  level: number;
  calibrated: string;
  metrics: Record<string, [number, number]>;
}

export function intervalsOf(run: { intervals?: StoredIntervals } | null | undefined): StoredIntervals | null {
  const iv = run?.intervals;
  return iv && typeof iv.level === 'number' && iv.metrics ? iv : null;
}

/** "90 %": an interval's level. */
export const levelText = (iv: StoredIntervals) => `${Math.round(iv.level * 100)} %`;

/** "(90 % interval 250–460 ms)", or '' when no interval is stored for the metric. */
export function intervalText(
  metric: string,
  iv: StoredIntervals | null,
  format: (x: number | null | undefined) => string,
): string {
  const range = iv?.metrics[metric];
  return range ? `(${levelText(iv)} interval ${format(range[0])}–${format(range[1])})` : '';
}

/** "339 ms (90 % interval 250–460 ms)", or the value alone when no interval is stored for it. */
export function withInterval(
  value: number | null | undefined,
  metric: string,
  iv: StoredIntervals | null,
  format: (x: number | null | undefined) => string,
): string {
  return `${format(value)} ${intervalText(metric, iv, format)}`.trim();
}

/** The latency metrics a result carries intervals for, in reading order, with their labels. */
export const INTERVAL_ROWS: Array<{ metric: string; label: string }> = (
  [
    ['ttft', 'TTFT'],
    ['tpot', 'TPOT'],
    ['itl', 'ITL'],
    ['e2el', 'E2E latency'],
  ] as const
).flatMap(([m, label]) =>
  (['mean', 'median', 'p90', 'p99'] as const).map((s) => ({
    metric: `${s}_${m}_ms`,
    label: `${s} ${label}`,
  })),
);

/** Rows of the interval table: every stored metric, its value and interval per run. */
export function intervalRows(
  runs: Array<{ metrics: Metrics; intervals: StoredIntervals | null }>,
  format: (x: number | null | undefined) => string,
): string[][] {
  return INTERVAL_ROWS.filter(({ metric }) => runs.some((r) => r.intervals?.metrics[metric])).map(
    ({ metric, label }) => [
      label,
      ...runs.map((r) => withInterval(r.metrics[metric], metric, r.intervals, format)),
    ],
  );
}

/** The CDF levels whose stored intervals are drawn as error bars, and the metric each is. */
const CDF_BARS = [
  { stat: 'median', level: 0.5 },
  { stat: 'p90', level: 0.9 },
  { stat: 'p99', level: 0.99 },
] as const;

/**
 * Error bars on a latency CDF: at the median, p90 and p99 of each run, a horizontal bar across
 * the stored interval of that metric (the run's series matched by name). Returns a new option.
 */
export function withCdfIntervals(
  option: Option | null,
  kind: 'ttft' | 'tpot' | 'e2el',
  runs: Record<string, { metrics: Metrics; intervals: StoredIntervals | null }>,
): Option | null {
  if (!option) return option;
  const series = (option.series as Option[]).map((s) => {
    const run = runs[s.name as string];
    const bars = CDF_BARS.flatMap(({ stat, level }) => {
      const range = run?.intervals?.metrics[`${stat}_${kind}_ms`];
      if (!range) return [];
      return [
        [
          { coord: [range[0], level], name: `${stat} ${levelText(run.intervals!)} interval` },
          { coord: [range[1], level] },
        ],
      ];
    });
    if (!bars.length) return s;
    return {
      ...s,
      markLine: {
        silent: true,
        symbol: 'none',
        lineStyle: { color: s.color, width: 2, type: 'solid' },
        label: { show: false },
        data: bars,
      },
    };
  });
  // The x axis reaches the highest interval end, so no bar is cut off.
  const highest = Math.max(
    0,
    ...series.flatMap((s) =>
      ((s.markLine?.data ?? []) as Array<Array<{ coord: [number, number] }>>).map((b) => b[1].coord[0]),
    ),
  );
  const xAxis = option.xAxis as Option;
  return {
    ...option,
    series,
    xAxis: highest
      ? {
          ...xAxis,
          max: (v: { max: number }) =>
            v.max >= highest
              ? v.max
              : xAxis.type === 'log'
                ? 10 ** Math.ceil(Math.log10(highest))
                : niceCeil(highest),
        }
      : xAxis,
  };
}
