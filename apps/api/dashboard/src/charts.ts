/**
 * ECharts, registered piece by piece (only what the dashboard draws), and one way to put a chart
 * on a page. Every chart is kept in `window.kvplanCharts` under its name and its element gets
 * `data-chart-state="drawn"` once rendered, so browser tests can check it holds data.
 */
import { BarChart, HeatmapChart, LineChart, ScatterChart } from 'echarts/charts';
import {
  DataZoomComponent,
  GridComponent,
  LegendComponent,
  MarkAreaComponent,
  MarkLineComponent,
  MarkPointComponent,
  TitleComponent,
  TooltipComponent,
  VisualMapComponent,
} from 'echarts/components';
import * as echarts from 'echarts/core';
import { CanvasRenderer } from 'echarts/renderers';
import { chartTable } from './chart-table';
import { h, table } from './dom';
import { exportButton, savePng } from './export';
import { fileStem, toCsv } from './export-files';
import { saveBlob } from './api';

echarts.use([
  BarChart,
  HeatmapChart,
  LineChart,
  ScatterChart,
  DataZoomComponent,
  GridComponent,
  LegendComponent,
  MarkAreaComponent,
  MarkLineComponent,
  MarkPointComponent,
  TitleComponent,
  TooltipComponent,
  VisualMapComponent,
  CanvasRenderer,
]);

export type ChartOption = echarts.EChartsCoreOption;

declare global {
  interface Window {
    kvplanCharts: Map<string, echarts.ECharts>;
  }
}
window.kvplanCharts = new Map();

const live = new Set<echarts.ECharts>();
let resizeQueued = false;
window.addEventListener('resize', () => {
  if (resizeQueued) return;
  resizeQueued = true;
  requestAnimationFrame(() => {
    resizeQueued = false;
    for (const c of live) c.resize();
  });
});

/**
 * A titled panel holding one chart; `note` explains what is drawn (or why nothing is). Returns
 * the panel; the chart is drawn once the panel is in the document (call `draw` after appending).
 */
export function chartPanel(
  name: string,
  title: string,
  option: ChartOption | null,
  note?: string,
  height = 320,
): { panel: HTMLElement; draw: () => void } {
  const titleId = `chart-title-${name}`;
  // The canvas is one image to assistive technology, named by the title; its data follows as a
  // table that is read, not drawn.
  const box = h('div', {
    class: 'chart',
    'data-chart': name,
    style: `height:${height}px`,
    role: 'img',
    'aria-labelledby': titleId,
  });
  const data = option ? chartTable(option as Record<string, unknown>) : null;
  // PNG of what is drawn, CSV of the points it plots (the hidden data table's rows).
  const exports = option
    ? h(
        'span',
        { class: 'chart-exports' },
        exportButton('PNG', { 'data-export-png': name, 'aria-label': `Download ${title} as PNG` }, () => {
          const chart = window.kvplanCharts.get(name);
          if (chart) savePng(chart, name);
        }),
        data?.rows.length
          ? exportButton(
              'CSV',
              { 'data-export-csv': name, 'aria-label': `Download the data of ${title} as CSV` },
              () =>
                saveBlob(
                  new Blob([toCsv(data.headers, data.rows)], { type: 'text/csv' }),
                  `${fileStem(name)}.csv`,
                ),
            )
          : null,
      )
    : null;
  const panel = h(
    'section',
    { class: 'panel', 'aria-labelledby': titleId },
    h('div', { class: 'chart-head' }, h('h3', { id: titleId }, title), exports),
    option ? box : h('p', { class: 'muted empty-chart' }, note ?? 'No data for this chart.'),
    option && note ? h('p', { class: 'note' }, note) : null,
    data?.rows.length
      ? h(
          'div',
          { class: 'sr-only chart-data', 'data-chart-table': name },
          table(
            data.headers,
            data.rows.map((r) => r.map((c) => (c === null ? '–' : String(c)))),
            { 'aria-label': `${title}: data` },
          ),
        )
      : null,
  );
  const draw = () => {
    if (!option) return;
    const chart = echarts.init(box, undefined, { renderer: 'canvas' });
    chart.on('finished', () => box.setAttribute('data-chart-state', 'drawn'));
    chart.setOption({ animation: false, textStyle: { fontFamily: 'inherit' }, ...option });
    live.add(chart);
    window.kvplanCharts.set(name, chart);
  };
  return { panel, draw };
}

/** Disposes every chart of the page being left. */
export function disposeCharts(): void {
  for (const c of live) c.dispose();
  live.clear();
  window.kvplanCharts.clear();
}
