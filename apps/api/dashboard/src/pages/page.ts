import { chartPanel, type ChartOption } from '../charts';
import { h } from '../dom';

export type Cleanup = () => void;

export interface PageContext {
  main: HTMLElement;
  /** The route's query (`#/projections?fusionConfigId=...`): what a link asks a page to preselect. */
  query: URLSearchParams;
  /** False once the user navigated away (late results are then dropped). */
  isCurrent: () => boolean;
}

/** Page title with an optional right-hand side. */
export function pageHeader(title: string, ...right: Array<Node | string | null>): HTMLElement {
  return h('div', { class: 'page-head' }, h('h1', {}, title), h('div', { class: 'page-actions' }, ...right));
}

/** A grid of chart panels; draws them once they are in the document. */
export function chartGrid(
  main: HTMLElement,
  charts: Array<{
    name: string;
    title: string;
    option: ChartOption | null;
    note?: string;
    wide?: boolean;
    height?: number;
  }>,
): void {
  const grid = h('div', { class: 'chart-grid' });
  const draws: Array<() => void> = [];
  for (const c of charts) {
    const { panel, draw } = chartPanel(c.name, c.title, c.option, c.note, c.height);
    if (c.wide) panel.classList.add('wide');
    grid.append(panel);
    draws.push(draw);
  }
  main.append(grid);
  for (const d of draws) d();
}
