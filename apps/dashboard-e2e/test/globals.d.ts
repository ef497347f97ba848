// What the dashboard exposes to browser tests (apps/api/dashboard/src/charts.ts).
interface KvplanChart {
  getOption(): unknown;
  getDom(): HTMLElement;
  convertToPixel(finder: { xAxisIndex?: number; yAxisIndex?: number }, value: number | string): number;
  /** ECharts' model: the tests read the axes' drawn extents from it. */
  getModel(): {
    getComponent(type: string, index: number): { axis: { scale: { getExtent(): [number, number] } } };
  };
}

interface Window {
  kvplanCharts: Map<string, KvplanChart>;
}
