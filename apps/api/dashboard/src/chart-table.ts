/**
 * A chart's data as a table (what a screen reader reads instead of the canvas): one row per
 * plotted point, from the same ECharts option the chart draws. Pure, so it is unit-tested.
 */
type Cell = string | number | null;
type Axis = { name?: unknown; data?: unknown[] };
type Series = { name?: unknown; type?: unknown; data?: unknown[] };

/** Rows kept per series: a CDF has 101 points, a KV series at most 300. */
export const MAX_ROWS_PER_SERIES = 400;

const first = (a: unknown): Axis => ((Array.isArray(a) ? a[0] : a) ?? {}) as Axis;
const cell = (v: unknown): Cell =>
  typeof v === 'number' ? Number(v.toPrecision(6)) : typeof v === 'string' ? v : v == null ? null : String(v);

export function chartTable(option: Record<string, unknown>): { headers: string[]; rows: Cell[][] } {
  const x = first(option.xAxis);
  const y = first(option.yAxis);
  const series = (Array.isArray(option.series) ? option.series : [option.series]).filter(Boolean) as Series[];
  const rows: Cell[][] = [];
  let width = 2;
  for (const s of series) {
    const data = Array.isArray(s.data) ? s.data : [];
    data.slice(0, MAX_ROWS_PER_SERIES).forEach((raw, i) => {
      const e =
        raw && typeof raw === 'object' && !Array.isArray(raw) ? (raw as { value?: unknown }).value : raw;
      const values = Array.isArray(e) ? e.map(cell) : [cell(x.data?.[i] ?? i), cell(e)];
      width = Math.max(width, values.length);
      rows.push([cell(s.name) ?? `series ${series.indexOf(s) + 1}`, ...values]);
    });
  }
  const axisName = (a: Axis, fallback: string) => (typeof a.name === 'string' && a.name ? a.name : fallback);
  const headers = ['series', axisName(x, 'x'), axisName(y, 'y')];
  for (let i = 3; i <= width; i++) headers.push('value');
  return { headers, rows };
}
