// A chart's hidden data table: one row per plotted point, read from the option the chart draws.
import { describe, expect, it } from 'vitest';
import { MAX_ROWS_PER_SERIES, chartTable } from '../dashboard/src/chart-table';

describe('chartTable', () => {
  it('lists [x, y] points and category values under the axis names', () => {
    expect(
      chartTable({
        xAxis: { name: 'req/s' },
        yAxis: [{ name: 'ms' }],
        series: [
          { name: 'p99 TTFT', data: [[1, 120.123456789], { value: [2, 240] }] },
          { name: 'queue', data: [null] },
        ],
      }),
    ).toEqual({
      headers: ['series', 'req/s', 'ms'],
      rows: [
        ['p99 TTFT', 1, 120.123],
        ['p99 TTFT', 2, 240],
        ['queue', 0, null],
      ],
    });
    expect(chartTable({ xAxis: { data: ['a', 'b'] }, series: { data: [3, 4] } })).toEqual({
      headers: ['series', 'x', 'y'],
      rows: [
        ['series 1', 'a', 3],
        ['series 1', 'b', 4],
      ],
    });
  });

  it('adds a value column for heatmap triples and caps long series', () => {
    const t = chartTable({ series: [{ name: 'h', data: [[0, 1, 0.5]] }] });
    expect(t.headers).toEqual(['series', 'x', 'y', 'value']);
    const long = chartTable({
      series: [{ name: 's', data: Array.from({ length: 1000 }, (_, i) => [i, i]) }],
    });
    expect(long.rows).toHaveLength(MAX_ROWS_PER_SERIES);
  });
});
