/**
 * Exports from the page: a chart as a PNG (what ECharts drew, on white, twice the screen's
 * pixels) and a table as CSV (the cells as shown). Both are handed to the browser as a Blob, like
 * the API's own exports, so nothing is a link the server could refuse.
 */
import { saveBlob } from './api';
import { h } from './dom';
import { dataUrlBlob, fileStem, toCsv } from './export-files';

/** A small button that runs `action` and shows its failure beside it. */
export function exportButton(label: string, attrs: Record<string, string>, action: () => void): HTMLElement {
  const b = h('button', { type: 'button', class: 'button-secondary export', ...attrs }, label);
  b.addEventListener('click', () => {
    try {
      action();
    } catch (err) {
      b.title = (err as Error).message;
      b.classList.add('bad');
    }
  });
  return b;
}

/** A chart's PNG: `getDataURL` of the drawn chart, saved as `<name>.png`. */
export function savePng(
  chart: { getDataURL(o: { type: 'png'; pixelRatio: number; backgroundColor: string }): string },
  name: string,
): void {
  saveBlob(
    dataUrlBlob(chart.getDataURL({ type: 'png', pixelRatio: 2, backgroundColor: '#ffffff' })),
    `${fileStem(name)}.png`,
  );
}

/** The cells of a table as shown (header row first). */
export function tableCells(t: HTMLTableElement): { headers: string[]; rows: string[][] } {
  const text = (c: Element) => (c.textContent ?? '').replace(/\s+/g, ' ').trim();
  const trs = [...t.querySelectorAll('tbody tr')];
  // Controls (the compare ticks) are not data: a column holding only inputs is left out.
  const control = (i: number) =>
    trs.every((tr) => !text(tr.children[i]) && tr.children[i]?.querySelector('input'));
  const keep = [...t.querySelectorAll('thead th')]
    .map((_, i) => i)
    .filter((i) => !(trs.length && control(i)));
  const headers = keep.map((i) => text(t.querySelectorAll('thead th')[i]));
  const rows = trs.map((tr) => keep.map((i) => (tr.children[i] ? text(tr.children[i]) : '')));
  return { headers, rows };
}

/**
 * Puts a CSV button above every visible table of `root` that has none yet (the hidden data
 * tables of charts are exported by their chart's own button).
 */
export function addTableExports(root: HTMLElement, page: string): void {
  root.querySelectorAll<HTMLTableElement>('table.grid').forEach((t, i) => {
    if (t.closest('.chart-data') || t.dataset.exportable) return;
    t.dataset.exportable = 'true';
    const name = t.id || `${page}-table-${i + 1}`;
    const button = exportButton(
      'CSV',
      { 'data-export-csv': name, 'aria-label': `Download ${name} as CSV` },
      () => {
        const { headers, rows } = tableCells(t);
        saveBlob(new Blob([toCsv(headers, rows)], { type: 'text/csv' }), `${fileStem(name)}.csv`);
      },
    );
    t.before(h('div', { class: 'table-export' }, button));
  });
}
