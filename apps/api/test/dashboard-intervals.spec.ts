// The intervals a result stores, as the dashboard shows them: text, table rows and CDF bars.
import { describe, expect, it } from 'vitest';
import { resultIntervals } from '@kvplan/sim';
import { cdfOption } from '../dashboard/src/options';
import { intervalRows, intervalsOf, withCdfIntervals, withInterval } from '../dashboard/src/intervals';

const ms = (x: number | null | undefined) => (typeof x === 'number' ? `${Number(x.toPrecision(3))} ms` : '–');

describe('dashboard intervals', () => {
  // What libs/sim stores with a result (the one interval policy), for one seed on a measured GPU.
  const metrics: Record<string, number> = {};
  for (const m of ['ttft', 'tpot', 'itl', 'e2el'])
    for (const [i, s] of ['mean', 'median', 'p90', 'p99'].entries()) metrics[`${s}_${m}_ms`] = (i + 1) * 100;
  const stored = resultIntervals('kernel-measured', [metrics]);

  it('writes a value with the stored interval, or alone without one', () => {
    const iv = intervalsOf({ intervals: stored })!;
    const [lo, hi] = stored.metrics.p99_ttft_ms;
    expect(lo).toBeLessThan(400);
    expect(hi).toBeGreaterThan(400);
    expect(withInterval(400, 'p99_ttft_ms', iv, ms)).toBe(`400 ms (90 % interval ${ms(lo)}–${ms(hi)})`);
    expect(withInterval(400, 'p99_ttft_ms', null, ms)).toBe('400 ms');
    expect(intervalsOf({})).toBeNull();
    const rows = intervalRows([{ metrics, intervals: iv }], ms);
    expect(rows).toHaveLength(16);
    expect(rows[3]).toEqual(['p99 TTFT', withInterval(400, 'p99_ttft_ms', iv, ms)]);
  });

  it('draws each run’s stored median, p90 and p99 intervals as bars on its CDF, inside the axis', () => {
    const cdf = { ttftMs: Array.from({ length: 101 }, (_, i) => 50 + i * 3), tpotMs: [], e2elMs: [] };
    const o = withCdfIntervals(
      cdfOption({ withoutFusion: cdf, withFusion: null }, 'ttftMs', 'TTFT'),
      'ttft',
      {
        'no fusion': { metrics, intervals: stored },
      },
    )!;
    const bars = o.series[0].markLine.data as Array<[{ coord: number[] }, { coord: number[] }]>;
    expect(bars.map(([a, b]) => [a.coord, b.coord])).toEqual(
      (
        [
          ['median', 0.5],
          ['p90', 0.9],
          ['p99', 0.99],
        ] as const
      ).map(([s, y]) => [
        [stored.metrics[`${s}_ttft_ms`][0], y],
        [stored.metrics[`${s}_ttft_ms`][1], y],
      ]),
    );
    // The highest interval end is past the CDF's last value: the axis is stretched to hold it.
    const hi = stored.metrics.p99_ttft_ms[1];
    expect(o.xAxis.max({ max: 350 })).toBeGreaterThanOrEqual(hi);
    expect(withCdfIntervals(null, 'ttft', {})).toBeNull();
  });
});
