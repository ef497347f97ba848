// What the dashboard exposes to browser tests (apps/api/dashboard/src/charts.ts).
interface KvplanChart {
  getOption(): unknown;
  getDom(): HTMLElement;
}

interface Window {
  kvplanCharts: Map<string, KvplanChart>;
}
