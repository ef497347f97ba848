// The ops dashboard in a real headless Chromium (Debian's, driven by playwright-core) against the
// real api and worker processes, PostgreSQL and Redis. Screenshots go to test-artifacts/dashboard/.
import type { ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { DataSource } from 'typeorm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PlanAnswer } from '@kvplan/contracts';
import {
  CapacityPlanRepository,
  FusionProfileRepository,
  JobRepository,
  ProjectionRepository,
  WorkspaceRepository,
  dataSourceOptions,
} from '@kvplan/db';
import { migrate, recreateDatabase, testDatabaseUrl } from '@kvplan/migrations';
import { artifacts, freePort, launchChromium, openRoute, repoRoot, startApp, until } from './support/stack';

const dbUrl = testDatabaseUrl('kvplan_test_dashboard');
const prefix = `kvtest-dash-${process.pid}`;
const storage = fs.mkdtempSync(path.join(os.tmpdir(), 'kvplan-dash-'));

let ds: DataSource;
let browser: Browser;
let page: Page;
let base = '';
const procs: Record<'api' | 'worker', { child?: ChildProcess; lines: string[] }> = {
  api: { lines: [] },
  worker: { lines: [] },
};
const keys = { admin: '', viewer: '' };
const ids = { profile: '', deployment: '', fusionConfig: '', plan: '', fusionProfile: '', projection: '' };
let workspaceId = '';
/**
 * What a kv-sample profile stores: an error (lower is better, with 95 % intervals) and an overlap
 * (higher is better) at the same thresholds, in one list. Charts must keep them apart.
 */
const ACCURACY = [0.6, 0.72, 0.8, 0.9].flatMap((threshold, i) => [
  {
    threshold,
    metric: 'attention-output-rel-error',
    value: [0.031, 0.024, 0.018, 0.012][i],
    interval: [0.9, 1.1].map((f) => Number(([0.031, 0.024, 0.018, 0.012][i] * f).toFixed(4))) as [
      number,
      number,
    ],
    how: 'synthetic',
  },
  {
    threshold,
    metric: 'top8-attention-overlap',
    value: [0.88, 0.91, 0.94, 0.97][i],
    interval: null,
    how: 'synthetic',
  },
]);
/** Every URL the browser asked for. */
const requested: string[] = [];

function start(app: 'api' | 'worker', extra: Record<string, string>): void {
  const env = {
    DATABASE_URL: dbUrl,
    REDIS_URL: process.env.KVPLAN_TEST_REDIS ?? 'redis://127.0.0.1:6379',
    QUEUE_PREFIX: prefix,
    STORAGE_DIR: storage,
    LOG_LEVEL: 'info',
  };
  procs[app].child = startApp(app, { ...env, ...extra }, (line) => procs[app].lines.push(line));
}

async function call<T = Record<string, unknown>>(method: string, url: string, body?: unknown): Promise<T> {
  const res = await fetch(base + url, {
    method,
    headers: { authorization: `Bearer ${keys.admin}`, 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const json = (await res.json()) as T;
  if (!res.ok) throw new Error(`${method} ${url}: ${res.status} ${JSON.stringify(json)}`);
  return json;
}

interface ChartCheck {
  name: string;
  series: number;
  points: number;
  /** Pixels of saturated colour: drawn data (axes, grid lines and text are grey). */
  coloured: number;
  width: number;
  height: number;
}

/** Every chart of the page: its ECharts option's series and the colour its canvas holds. */
function checkCharts(p: Page): Promise<ChartCheck[]> {
  return p.evaluate(() =>
    [...window.kvplanCharts.entries()].map(([name, chart]) => {
      const opt = chart.getOption() as {
        series?: Array<{ data?: unknown[]; markLine?: { data?: unknown[] } }>;
      };
      const series = opt.series ?? [];
      const points = series.reduce((n, s) => n + (Array.isArray(s.data) ? s.data.length : 0), 0);
      // ECharts may draw some elements (heatmaps, hover layers) on canvases of their own.
      const canvases = [...chart.getDom().querySelectorAll('canvas')];
      let coloured = 0;
      for (const canvas of canvases) {
        const img = canvas.getContext('2d')!.getImageData(0, 0, canvas.width, canvas.height).data;
        for (let i = 0; i < img.length; i += 4) {
          const [r, g, b, a] = [img[i], img[i + 1], img[i + 2], img[i + 3]];
          if (a > 128 && Math.max(r, g, b) - Math.min(r, g, b) > 60) coloured++;
        }
      }
      const { width, height } = canvases[0];
      return { name, series: series.length, points, coloured, width, height };
    }),
  );
}

/** Waits until the page loaded and `n` charts reported they finished drawing. */
async function chartsDrawn(p: Page, n: number): Promise<ChartCheck[]> {
  await p.waitForFunction(
    (count) =>
      document.body.dataset.loaded === 'true' &&
      document.querySelectorAll('[data-chart-state="drawn"]').length >= count,
    n,
    { timeout: 30_000 },
  );
  const checks = await checkCharts(p);
  expect(checks.length).toBe(n);
  for (const c of checks) {
    expect(c.points, `${c.name}: series data`).toBeGreaterThan(0);
    expect(c.coloured, `${c.name}: coloured pixels`).toBeGreaterThan(300);
  }
  return checks;
}

async function shot(name: string, p: Page = page): Promise<void> {
  await p.screenshot({ path: path.join(artifacts, `${name}.png`), fullPage: true });
}

function open(hash: string, p: Page = page): Promise<void> {
  return openRoute(p, hash);
}

/** Drops a file on the workload page's trace zone, as a drag and drop from the desktop would. */
function dropFile(p: Page, name: string, text: string): Promise<void> {
  return p.evaluate(
    ([n, t]) => {
      const dt = new DataTransfer();
      dt.items.add(new File([t], n, { type: 'text/csv' }));
      const zone = document.getElementById('trace-drop')!;
      zone.dispatchEvent(new DragEvent('dragover', { dataTransfer: dt, bubbles: true, cancelable: true }));
      zone.dispatchEvent(new DragEvent('drop', { dataTransfer: dt, bubbles: true, cancelable: true }));
    },
    [name, text] as const,
  );
}

/** On a phone: whether the page scrolls sideways, the nav leaves the header or a panel spills. */
function phoneLayout(p: Page) {
  return p.evaluate(() => {
    const nav = document.getElementById('nav')!.getBoundingClientRect();
    const header = document.querySelector('header.top')!.getBoundingClientRect();
    const spill = [...document.querySelectorAll('.panel table')].filter((t) => {
      const panel = t.closest('.panel')!;
      return panel.getBoundingClientRect().right > window.innerWidth + 0.5;
    }).length;
    return {
      scrollWidth: document.documentElement.scrollWidth,
      width: window.innerWidth,
      navInHeader: nav.right <= header.right + 0.5 && nav.bottom <= header.bottom + 0.5,
      spill,
    };
  });
}

beforeAll(async () => {
  const launching = launchChromium();
  fs.mkdirSync(artifacts, { recursive: true });
  await recreateDatabase(dbUrl);
  await migrate(dbUrl);
  ds = await new DataSource(dataSourceOptions({ url: dbUrl, poolSize: 2 })).initialize();
  const ws = new WorkspaceRepository(ds);
  const a = await ws.createWorkspaceWithAdminKey('dashboard-team');
  workspaceId = a.workspace.id;
  keys.admin = a.secret;
  keys.viewer = (await ws.createKey(a.workspace.id, 'viewer', 'viewer')).secret;
  const port = await freePort();
  base = `http://127.0.0.1:${port}`;
  start('api', { PORT: String(port), HOST: '127.0.0.1', AUTH_CACHE_TTL_MS: '0' });
  start('worker', { STALLED_INTERVAL_MS: '1000', LOCK_DURATION_MS: '2000' });
  await until('api ready', async () => ((await fetch(`${base}/ready`)).ok ? true : undefined), 90_000);

  // What a team would have stored: a deployment with an SLO, a workload, a fusion config, a
  // capacity plan (queued now, drawn later) and a fusion profile built by a fusion job.
  ids.deployment = (
    await call<{ id: string }>('POST', '/api/v1/deployments', {
      name: 'llama-8b on L4',
      model: 'meta-llama/Llama-3.1-8B',
      gpu: 'l4',
      engine: { maxModelLen: 4096 },
      slo: { ttftMs: { p99: 800 } },
    })
  ).id;
  ids.profile = (
    await call<{ id: string }>('POST', '/api/v1/workload-profiles', {
      name: 'chat 2 req/s',
      workload: {
        arrival: { process: 'poisson', rate: 2 },
        numRequests: 200,
        inputTokens: { lognormal: { median: 600, sigma: 0.4 } },
        outputTokens: { uniform: [20, 80] },
      },
    })
  ).id;
  ids.fusionConfig = (
    await call<{ id: string }>('POST', '/api/v1/fusion-configs', {
      name: 'bff 0.72',
      mode: 'bff',
      thresholds: [0.72, 0.8],
    })
  ).id;
  ids.plan = (
    await call<{ id: string }>('POST', '/api/v1/capacity-plans', {
      workloadProfileId: ids.profile,
      deploymentId: ids.deployment,
      mode: 'max-rate',
      rateScales: [0.5, 1, 2, 4],
    })
  ).id;
  const fp = new FusionProfileRepository(ds);
  const { fusionProfile, job } = await fp.createWithJob(a.workspace.id, {
    workloadProfileId: ids.profile,
    fusionConfigId: ids.fusionConfig,
  });
  const layers = 32;
  const surviving = (t: number) =>
    Array.from({ length: layers }, (_, l) =>
      l < 2 || l >= layers - 2 ? 1 : Math.min(1, 0.25 + t * 0.6 + l / 200),
    );
  await fp.saveProfile(fusionProfile.id, job.id, 'synthetic', {
    format: 'kvplan-fusion-profile/1',
    mode: 'bff',
    source: 'synthetic',
    model: 'meta-llama/Llama-3.1-8B',
    numLayers: layers,
    fusedLayers: Array.from({ length: layers - 4 }, (_, i) => i + 2),
    blockSize: 16,
    // Measured at the fusion config's first threshold too, so the heatmap has its column.
    points: [0.6, 0.72, 0.8, 0.9].map((threshold) => ({
      threshold,
      batchSize: 8,
      survivingFraction: surviving(threshold),
    })),
    // A fit that fuses about half the blocks of a large batch at 0.7, so fusion shows in the runs.
    rateDistortion: {
      model: 'poisson-logistic/1',
      layers: Array.from({ length: layers - 4 }, (_, i) => ({
        layer: i + 2,
        pMax: 0.02,
        t0: 0.62,
        width: 0.04,
      })),
    },
    accuracy: ACCURACY,
  });
  ids.fusionProfile = fusionProfile.id;

  browser = await launching;
  const context = await browser.newContext({
    viewport: { width: 1440, height: 900 },
    deviceScaleFactor: 1,
    acceptDownloads: true,
  });
  page = await context.newPage();
  page.on('request', (r) => requested.push(r.url()));
  page.on('pageerror', (e) => process.stderr.write(`[page] ${e.message}\n`));
}, 150_000);

afterAll(async () => {
  await browser?.close();
  procs.api.child?.kill('SIGTERM');
  procs.worker.child?.kill('SIGTERM');
  await ds?.destroy();
  fs.rmSync(storage, { recursive: true, force: true });
});

describe('dashboard', () => {
  it('serves the page and its bundle from the api, with a strict content security policy', async () => {
    const res = await fetch(`${base}/`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-security-policy')).toMatch(/default-src 'self'/);
    const html = await res.text();
    expect(html).toMatch(/<script src="\/app\.js">/);
    const js = await fetch(`${base}/app.js`, { headers: { 'accept-encoding': 'gzip' } });
    expect(js.headers.get('content-type')).toMatch(/javascript/);
    const etag = js.headers.get('etag')!;
    expect((await fetch(`${base}/app.js`, { headers: { 'if-none-match': etag } })).status).toBe(304);
    // The API keeps its own 404s: the dashboard does not swallow unknown paths.
    expect((await fetch(`${base}/api/v1/nope`)).status).toBe(404);
  });

  it('asks for the API key once and keeps it for the tab only', async () => {
    await page.goto(`${base}/`);
    await page.waitForSelector('#login-form');
    await shot('01-login');
    await page.fill('#api-key', 'kvp_wrong-key');
    await page.click('#login-form button');
    await page.waitForSelector('#login-form .error');
    expect(await page.textContent('#login-form .error')).toMatch(/not accepted/);
    await page.fill('#api-key', keys.admin);
    await page.click('#login-form button');
    await page.waitForSelector('#new-projection');
    expect(await page.textContent('#who')).toMatch(/dashboard-team · admin/);
    expect(await page.evaluate(() => sessionStorage.getItem('kvplan.apiKey'))).toBe(keys.admin);
    expect(await page.evaluate(() => localStorage.length)).toBe(0);
  });

  it('creates a projection through the UI, follows its job live over SSE and draws every chart', async () => {
    await open('#/projections');
    await page.selectOption('#new-workloadProfileId', ids.profile);
    await page.selectOption('#new-deploymentId', ids.deployment);
    await page.selectOption('#new-fusionConfigId', ids.fusionConfig);
    await page.click('#run-projection');
    await page.waitForFunction(() => /^#\/projections\/[0-9a-f-]{36}$/.test(location.hash));
    ids.projection = (await page.evaluate(() => location.hash)).split('/').pop()!;
    // The job is followed live, then the page redraws with the result.
    await page.waitForSelector('#job-progress, [data-chart]', { timeout: 30_000 });
    const checks = await chartsDrawn(page, 8);
    expect(checks.map((c) => c.name).sort()).toEqual(
      [
        'accuracy:attention-output-rel-error',
        'accuracy:top8-attention-overlap',
        'cdf-e2el',
        'cdf-tpot',
        'cdf-ttft',
        'kv-blocks',
        'layer-compression',
        'rate-sweep',
      ].sort(),
    );
    // Two runs (without and with fusion) in the curves; the rate chart marks the SLO and max rate.
    const series = await page.evaluate(() => {
      const opt = window.kvplanCharts.get('rate-sweep')!.getOption() as {
        series: Array<{ name: string; markLine?: { data?: Array<{ xAxis?: number; yAxis?: number }> } }>;
      };
      return opt.series.map((s) => ({ name: s.name, marks: s.markLine?.data ?? [] }));
    });
    expect(series.find((s) => s.name === 'SLO')?.marks[0]?.yAxis).toBe(800);
    expect(series.find((s) => s.name === 'throughput, no fusion')?.marks[0]?.xAxis).toBeGreaterThan(0);
    const cdfSeries = await page.evaluate(
      () => (window.kvplanCharts.get('cdf-ttft')!.getOption() as { series: unknown[] }).series.length,
    );
    expect(cdfSeries).toBe(2);
    expect(await page.textContent('.stats')).toMatch(/max rate in SLO/);
    await shot('02-projection-detail');

    // SSE went through a single-use token; the key never appeared in a URL; nothing left the origin.
    expect(requested.some((u) => /\/api\/v1\/jobs\/[0-9a-f-]{36}\/events\?token=/.test(u))).toBe(true);
    expect(requested.filter((u) => u.includes(keys.admin))).toEqual([]);
    expect(requested.filter((u) => !u.startsWith(base))).toEqual([]);
  }, 90_000);

  it('plots each accuracy metric as stored, in its own chart, with the baseline inside the axis', async () => {
    const stored = await call<{
      result: {
        fusion: { threshold: number; accuracy: typeof ACCURACY };
        charts: { thresholdSweep: { unfusedOutputThroughput: number } };
      };
    }>('GET', `/api/v1/projections/${ids.projection}`);
    expect(stored.result.fusion.accuracy).toEqual(ACCURACY);
    const baseline = stored.result.charts.thresholdSweep.unfusedOutputThroughput;
    for (const metric of ['attention-output-rel-error', 'top8-attention-overlap']) {
      const drawn = await page.evaluate((name) => {
        const chart = window.kvplanCharts.get(name)!;
        const opt = chart.getOption() as {
          yAxis: Array<{ name: string; inverse: boolean }>;
          series: Array<{ name: string; data: Array<{ value: [number, number]; t: number }> }>;
        };
        // What ECharts actually drew: the axes' extents after layout.
        const extent = (axis: string) => chart.getModel().getComponent(axis, 0).axis.scale.getExtent();
        return {
          yName: opt.yAxis[0].name,
          inverse: opt.yAxis[0].inverse,
          points: opt.series[0].data.map((d) => ({ t: d.t, x: d.value[0], y: d.value[1] })),
          x: extent('xAxis'),
          y: extent('yAxis'),
        };
      }, `accuracy:${metric}`);
      const want = ACCURACY.filter((a) => a.metric === metric);
      expect(drawn.points.map((p) => [p.t, p.y])).toEqual(want.map((a) => [a.threshold, a.value]));
      // Every plotted value, interval end and the no-fusion baseline lie inside the drawn axes.
      expect(drawn.x[0]).toBeLessThanOrEqual(baseline);
      expect(drawn.x[1]).toBeGreaterThanOrEqual(baseline);
      for (const p of drawn.points) {
        expect(p.x).toBeGreaterThanOrEqual(drawn.x[0]);
        expect(p.x).toBeLessThanOrEqual(drawn.x[1]);
      }
      for (const a of want)
        for (const v of [a.value, ...(a.interval ?? [])]) {
          expect(v).toBeGreaterThanOrEqual(drawn.y[0]);
          expect(v).toBeLessThanOrEqual(drawn.y[1]);
        }
      expect(drawn.yName).toMatch(metric.startsWith('attention') ? /lower is better/ : /higher is better/);
      expect(drawn.inverse).toBe(metric.startsWith('attention'));
    }
    // The card names the metric at the chosen threshold and its direction.
    const card = await page.textContent('#accuracy-card');
    expect(card).toMatch(/accuracy at 0\.72/);
    expect(card).toMatch(/0\.024/);
    expect(card).toMatch(/attention output relative error \(ratio, lower is better\)/);
    // The heatmap outlines the chosen threshold's column on that column's edges, in pixels.
    const marked = await page.evaluate(() => {
      const chart = window.kvplanCharts.get('layer-compression')!;
      const opt = chart.getOption() as {
        xAxis: Array<{ data?: string[] }>;
        series: Array<{ markLine?: { data?: Array<{ xAxis: number }> } }>;
      };
      const labels = opt.xAxis[0].data!;
      const i = labels.indexOf('0.72');
      const edges = opt.series[1].markLine!.data!.map((d) =>
        chart.convertToPixel({ xAxisIndex: 1 }, d.xAxis),
      );
      const centre = (k: number) => chart.convertToPixel({ xAxisIndex: 0 }, labels[k]);
      return { i, edges, centre: centre(i), column: centre(1) - centre(0) };
    });
    expect(marked.i).toBeGreaterThanOrEqual(0);
    expect(Math.abs((marked.edges[0] + marked.edges[1]) / 2 - marked.centre)).toBeLessThan(1);
    expect(Math.abs(marked.edges[1] - marked.edges[0] - marked.column)).toBeLessThan(1);
  });

  it('downloads the CSV export with the key (a Blob, never a link the server refuses)', async () => {
    expect(await page.getAttribute('#export-csv', 'href')).toBeNull();
    const [download] = await Promise.all([page.waitForEvent('download'), page.click('#export-csv')]);
    expect(download.suggestedFilename()).toBe(`projection-${ids.projection}.csv`);
    const csv = fs.readFileSync((await download.path())!, 'utf8');
    expect(csv.split('\n')[0]).toMatch(/,/);
    // A status, not digits inside a number (78.6199750042141 holds "401").
    expect(csv).not.toMatch(/\b401\b|unauthori[sz]ed/i);
    expect(requested.filter((u) => u.includes(keys.admin))).toEqual([]);
  });

  it('lists projections with their numbers', async () => {
    await open('#/projections');
    const row = await page.textContent('#projections-table tbody tr:first-child');
    expect(row).toContain(ids.projection.slice(0, 8));
    expect(row).toMatch(/succeeded/);
    expect(row).toMatch(/\dx/); // throughput gain
    await shot('03-projections');
  });

  it('shows a failed projection as failed, with its error once, live and in the list', async () => {
    const projections = new ProjectionRepository(ds);
    const jobs = new JobRepository(ds);
    // A job that fails: its row goes queued -> running -> failed as the worker would write it.
    const { projection, job } = await projections.createWithJob(workspaceId, {
      workloadProfileId: ids.profile,
      deploymentId: ids.deployment,
      fusionConfigId: null,
      spec: { note: 'fails on purpose' },
    });
    await open(`#/projections/${projection.id}`);
    expect(await page.textContent('#projection-status')).toMatch(/queued/);
    await page.waitForSelector('#job-progress');
    await jobs.markRunning(job.id);
    const error = Array.from(
      { length: 20 },
      () => 'simulation failed: KV cache too small for one request',
    ).join('\n');
    await jobs.markFailed(job.id, error);
    // The stream's final event turns the page to the failure, without a reload.
    await page.waitForSelector('#job-failure', { timeout: 10_000 });
    expect(await page.textContent('#projection-status')).toMatch(/failed/);
    expect(await page.textContent('#job-failure pre')).toBe(
      'simulation failed: KV cache too small for one request   (×20)',
    );
    expect(await page.$('#job-progress')).toBeNull();
    await shot('02b-projection-failed');
    // Reloaded, and in the list: failed, never "0 %".
    await open(`#/projections/${projection.id}`);
    expect(await page.textContent('#job-failure')).toMatch(/failed/);
    await open('#/projections');
    const row = await page.evaluate(
      (id) =>
        [...document.querySelectorAll('#projections-table tbody tr')].find((tr) =>
          tr.textContent!.includes(id),
        )!.textContent!,
      projection.id.slice(0, 8),
    );
    expect(row).toMatch(/failed/);
    expect(row).not.toMatch(/0 %/);
  });

  it('draws a capacity plan sweep', async () => {
    await until('capacity plan done', async () => {
      const p = await call<{ status: string }>('GET', `/api/v1/capacity-plans/${ids.plan}`);
      return p.status === 'succeeded' ? true : undefined;
    });
    await open('#/capacity-plans');
    expect(await page.textContent('#capacity-table')).toMatch(/max-rate/);
    await open(`#/capacity-plans/${ids.plan}`);
    await chartsDrawn(page, 1);
    expect(await page.textContent('.lead')).toMatch(/Answer: /);
    await shot('04-capacity-plan');
  });

  it('draws a workload profile with arrival and length histograms', async () => {
    await open('#/workload-profiles');
    await page.click(`a[href="#/workload-profiles/${ids.profile}"]`);
    await page.waitForFunction(() => document.body.dataset.loaded === 'true');
    const checks = await chartsDrawn(page, 3);
    expect(checks.map((c) => c.name).sort()).toEqual(['arrivals', 'input-lengths', 'output-lengths']);
    expect(await page.textContent('.stats')).toMatch(/200/);
    await shot('05-workload-profile');
  });

  it('draws a fusion profile heatmap from its measured points', async () => {
    await open('#/fusion-profiles');
    expect(await page.textContent('#fusion-table')).toMatch(/synthetic/);
    await open(`#/fusion-profiles/${ids.fusionProfile}`);
    await chartsDrawn(page, 1);
    expect(await page.textContent('.panel .note')).toMatch(/Measured points at a batch of 8/);
    expect(await page.textContent('main')).toMatch(/attention-output-rel-error/);
    await shot('06-fusion-profile');
  });

  it('shows the queues, the live workers and the newest jobs', async () => {
    await open('#/jobs');
    await chartsDrawn(page, 1);
    expect(await page.textContent('#workers h3')).toMatch(/Workers \(1 alive\)/);
    expect(await page.textContent('#jobs-table')).toMatch(/simulate/);
    // The capacity plan's four point simulations are listed under it, and it is timed with them.
    const flow = await page.evaluate(() => {
      const rows = [...document.querySelectorAll('#jobs-table tbody tr')];
      const parent = rows.findIndex((tr) => tr.classList.contains('flow-parent'));
      const children = rows
        .slice(parent + 1)
        .filter((tr, i, all) => all.slice(0, i + 1).every((r) => r.classList.contains('flow-child')));
      return {
        took: rows[parent]?.querySelector('.flow-took')?.textContent ?? '',
        children: children.map((tr) => tr.textContent ?? ''),
      };
    });
    expect(flow.children).toHaveLength(4);
    for (const c of flow.children) expect(c).toMatch(/capacity point.*succeeded/);
    expect(flow.took).toMatch(/^\d+\.\d s \(4 points\)$/);
    expect(Number(flow.took.split(' ')[0])).toBeGreaterThan(0);
    expect(await page.textContent('#job-counts')).toMatch(/plus 4 child simulations/);
    await shot('07-jobs');
  });

  it('updates a running job live on the jobs page', async () => {
    const profile = await call<{ id: string }>('POST', '/api/v1/workload-profiles', {
      name: 'longer',
      workload: {
        arrival: { process: 'poisson', rate: 2 },
        numRequests: 6000,
        inputTokens: { fixed: 300 },
        outputTokens: { fixed: 40 },
      },
    });
    const created = await call<{ job: { id: string } }>('POST', '/api/v1/projections', {
      workloadProfileId: profile.id,
      deploymentId: ids.deployment,
    });
    await open('#/jobs');
    const short = created.job.id.slice(0, 8);
    // The row's status cell changes without a reload: a progress bar, then the final badge.
    await page.waitForFunction(
      (s) =>
        [...document.querySelectorAll('#jobs-table tbody tr')].some(
          (tr) => tr.textContent!.includes(s) && tr.querySelector('.progress'),
        ),
      short,
      { timeout: 10_000 },
    );
    await page.waitForFunction(
      (s) =>
        [...document.querySelectorAll('#jobs-table tbody tr')].some(
          (tr) => tr.textContent!.includes(s) && tr.querySelector('[data-status="succeeded"]'),
        ),
      short,
      { timeout: 60_000 },
    );
  }, 90_000);
});

describe('operating jobs', () => {
  /** A projection whose job is queued (its row written as the api writes it, not yet taken). */
  const queuedProjection = async () =>
    new ProjectionRepository(ds).createWithJob(workspaceId, {
      workloadProfileId: ids.profile,
      deploymentId: ids.deployment,
      fusionConfigId: null,
      spec: { note: 'cancelled before it runs' },
    });
  const rowText = (short: string) =>
    page.evaluate(
      (s) =>
        [...document.querySelectorAll('#jobs-table tbody tr')].find((tr) => tr.textContent!.includes(s))
          ?.textContent ?? null,
      short,
    );

  it('filters jobs by state and queue, cancels a queued job and shows its error and payload', async () => {
    const { projection, job } = await queuedProjection();
    const short = job.id.slice(0, 8);
    await open('#/jobs');
    // Each filter rewrites the route's query, and the page is drawn again from it.
    const pick = async (select: string, value: string, hash: string) => {
      await page.evaluate(() => document.getElementById('job-filters')!.setAttribute('data-old', ''));
      await page.selectOption(select, value);
      await page.waitForFunction(
        (hs) =>
          location.hash === hs &&
          document.body.dataset.loaded === 'true' &&
          !document.querySelector('#job-filters[data-old]'),
        hash,
      );
    };
    await pick('#filter-status', 'queued', '#/jobs?status=queued');
    await pick('#filter-queue', 'simulate', '#/jobs?status=queued&queue=simulate');
    const statuses = await page.$$eval('#jobs-table tbody tr > td:nth-child(2)', (t) =>
      t.map((x) => x.textContent),
    );
    expect(statuses.length).toBeGreaterThan(0);
    expect(new Set(statuses)).toEqual(new Set(['simulate']));
    expect(
      await page.evaluate(
        (s) =>
          !![...document.querySelectorAll('#jobs-table tbody tr')]
            .find((tr) => tr.textContent!.includes(s))
            ?.querySelector('.progress-queued'),
        short,
      ),
    ).toBe(true);
    // Only queued jobs are listed: no finished one.
    expect(
      await page.$('#jobs-table [data-status="succeeded"], #jobs-table [data-status="failed"]'),
    ).toBeNull();
    await page.click(`#jobs-table button[aria-label="Cancel job ${short}"]`);
    await page.waitForFunction(
      (s) =>
        [...document.querySelectorAll('#jobs-table tbody tr')].some(
          (tr) => tr.textContent!.includes(s) && tr.querySelector('[data-status="failed"]'),
        ),
      short,
      { timeout: 10_000 },
    );
    expect(await rowText(short)).toMatch(/cancelled/);
    expect(await new JobRepository(ds).get(workspaceId, job.id)).toMatchObject({
      status: 'failed',
      error: 'cancelled',
    });
    // Among the failed jobs: its whole error and the payload its queue carried.
    await open('#/jobs?status=failed&queue=simulate');
    expect(await page.inputValue('#filter-status')).toBe('failed');
    const details = await page.evaluate((s) => {
      const tr = [...document.querySelectorAll('#jobs-table tbody tr')].find((r) =>
        r.textContent!.includes(s),
      );
      const d = tr?.querySelector('details.job-details') as HTMLDetailsElement | undefined;
      if (d) d.open = true;
      return d
        ? {
            error: d.querySelector('.error-text')!.textContent,
            payload: d.querySelector('.job-payload')!.textContent,
          }
        : null;
    }, short);
    expect(details?.error).toBe('cancelled');
    expect(JSON.parse(details!.payload!)).toMatchObject({
      queue: 'simulate',
      runId: job.id,
      projectionId: projection.id,
    });
    await shot('07b-jobs-failed-filtered');
  });

  it('cancels a queued projection from its page', async () => {
    const { projection } = await queuedProjection();
    await open(`#/projections/${projection.id}`);
    await page.click('.panel h3 .cancel-job');
    await page.waitForSelector('#job-failure', { timeout: 10_000 });
    expect(await page.textContent('#job-failure pre')).toBe('cancelled');
    expect(await page.textContent('#projection-status')).toMatch(/failed/);
  });
});

describe('every step in the UI', () => {
  const made = { workload: '', config: '', deployment: '', profile: '' };

  it('creates a deployment from the model and GPU presets, and lists the problems of a bad one', async () => {
    await open('#/deployments');
    await page.fill('#new-deployment #f-name', '');
    await page.click('#create-deployment');
    expect(await page.textContent('#new-deployment .error')).toMatch(/Name: required/);
    // The model's allowed TP degrees and the GPU class's engine defaults come from /models and /gpus.
    await page.selectOption('#new-deployment #f-model', 'meta-llama/Llama-3.1-70B');
    await page.selectOption('#new-deployment #f-gpu', 'h100-sxm');
    expect(
      await page.$$eval('#new-deployment #f-tensorParallel option', (o) => o.map((x) => x.textContent)),
    ).toEqual(['1', '2', '4', '8', '16']);
    await page.selectOption('#new-deployment #f-tensorParallel', '4');
    expect(await page.textContent('#deployment-fit')).toMatch(/at TP 4\.$/);
    await page.click('#new-deployment details summary');
    expect(await page.getAttribute('#new-deployment #f-maxNumSeqs', 'placeholder')).toBe('1024');
    await page.fill('#new-deployment #f-name', 'llama-70b on 8 H100');
    await page.fill('#new-deployment #f-replicas', '2');
    await page.fill('#new-deployment #f-maxNumSeqs', '256');
    await page.fill('#new-deployment #f-gpuHourUsd', '3.5');
    await page.click('#create-deployment');
    await page.waitForFunction(() =>
      document.querySelector('#deployments-table')?.textContent?.includes('llama-70b on 8 H100'),
    );
    const row = await page.evaluate(
      () =>
        [...document.querySelectorAll('#deployments-table tbody tr')].find((tr) =>
          tr.textContent!.includes('llama-70b on 8 H100'),
        )!.textContent!,
    );
    expect(row).toMatch(/meta-llama\/Llama-3\.1-70B.*h100-sxm.*4.*2.*8/);
    const stored = await call<{ items: Array<Record<string, unknown>> }>(
      'GET',
      '/api/v1/deployments?name=llama-70b',
    );
    expect(stored.items).toHaveLength(1);
    expect(stored.items[0]).toMatchObject({
      model: 'meta-llama/Llama-3.1-70B',
      gpu: 'h100-sxm',
      tensorParallel: 4,
      replicas: 2,
      engine: { maxNumSeqs: 256 },
      cost: { gpuHourUsd: 3.5 },
    });
    await shot('10-deployment-from-presets');
  });

  it("uploads a trace by drag and drop, lists a bad one's problems by line, and replays it", async () => {
    const drop = (name: string, text: string) => dropFile(page, name, text);
    await open('#/workload-profiles');
    const header = 'request_id,arrival_time_s,input_tokens,output_tokens';
    await drop('bad.csv', `${header}\nr1,0.5,100,20\nr2,0.7,-3,20\nr3,0.9,100,abc\n`);
    await page.waitForSelector('#trace-status .error', { timeout: 15_000 });
    const problems = await page.textContent('#trace-status .error');
    expect(problems).toMatch(/bad\.csv was not accepted|400/);
    // Each bad row is named by its line.
    expect(problems).toMatch(/trace\.csv:3/);
    expect(problems).toMatch(/trace\.csv:4/);
    const sample = fs.readFileSync(path.join(repoRoot, 'examples', 'traces', 'sample.csv'), 'utf8');
    await drop('sample.csv', sample);
    await page.waitForSelector('#trace-profile', { timeout: 15_000 });
    expect(await page.textContent('#trace-status')).toMatch(/200 requests/);
    expect(await page.getAttribute('#trace-progress [role="progressbar"]', 'aria-valuenow')).toBe('100');
    await page.fill('#trace-profile-name', 'sample trace');
    await page.click('#trace-profile');
    await page.waitForFunction(() => /^#\/workload-profiles\/[0-9a-f-]{36}$/.test(location.hash));
    await chartsDrawn(page, 3);
    expect(await page.textContent('.stats')).toMatch(/200/);
    await shot('09-trace-workload');
  });

  it('creates a workload profile through its form, and lists the problems of a bad one', async () => {
    await open('#/workload-profiles');
    await page.fill('#new-workload #f-name', '');
    await page.fill('#new-workload #f-numRequests', '2.5');
    await page.click('#create-workload');
    const problems = await page.textContent('#new-workload .error');
    expect(problems).toMatch(/Name: required/);
    expect(problems).toMatch(/Requests: expected a positive whole number/);
    await page.fill('#new-workload #f-name', 'ui workload');
    await page.fill('#new-workload #f-rate', '3');
    await page.fill('#new-workload #f-numRequests', '120');
    await page.fill('#new-workload #f-inputMedian', '300');
    await page.fill('#new-workload #f-outputMedian', '40');
    await page.click('#create-workload');
    await page.waitForFunction(() => /^#\/workload-profiles\/[0-9a-f-]{36}$/.test(location.hash));
    made.workload = (await page.evaluate(() => location.hash)).split('/').pop()!;
    await chartsDrawn(page, 3);
    expect(await page.textContent('.stats')).toMatch(/120/);
  });

  it('creates a fusion config, builds a fusion profile and uses it in a projection with overrides', async () => {
    // A small Llama shape keeps the synthetic fusion job short (deployments have no form yet).
    made.deployment = (
      await call<{ id: string }>('POST', '/api/v1/deployments', {
        name: 'tiny llama on L4',
        model: {
          model_type: 'llama',
          hidden_size: 64,
          intermediate_size: 128,
          num_attention_heads: 4,
          num_key_value_heads: 2,
          num_hidden_layers: 6,
          vocab_size: 256,
          max_position_embeddings: 4096,
        },
        gpu: 'l4',
      })
    ).id;
    await open('#/fusion-profiles');
    await page.fill('#new-fusion-config #f-name', 'ui bff');
    await page.selectOption('#new-fusion-config #f-mode', 'bff');
    await page.fill('#new-fusion-config #f-thresholds', '0.75, 0.85');
    await page.fill('#new-fusion-config #f-batchSizes', '4');
    await page.click('#create-fusion-config');
    await page.waitForFunction(() =>
      document.querySelector('#new-fusion-config')?.textContent?.includes('ui bff'),
    );
    const configs = await call<{ items: Array<{ id: string; name: string; thresholds: number[] }> }>(
      'GET',
      '/api/v1/fusion-configs?limit=100',
    );
    const config = configs.items.find((c) => c.name === 'ui bff')!;
    expect(config.thresholds).toEqual([0.75, 0.85]);
    made.config = config.id;

    await open('#/fusion-profiles');
    await page.selectOption('#build-workloadProfileId', made.workload);
    await page.selectOption('#build-fusionConfigId', made.config);
    await page.selectOption('#build-deploymentId', made.deployment);
    await page.fill('#build-fusion-profile #f-sampleSize', '8');
    await page.fill('#build-fusion-profile #f-maxPromptTokens', '128');
    await page.click('#build-profile');
    await page.waitForFunction(() => /^#\/fusion-profiles\/[0-9a-f-]{36}$/.test(location.hash));
    made.profile = (await page.evaluate(() => location.hash)).split('/').pop()!;
    await until(
      'fusion profile built',
      async () => {
        const f = await call<{ status: string }>('GET', `/api/v1/fusion-profiles/${made.profile}`);
        if (f.status === 'failed') throw new Error('the fusion profile job failed');
        return f.status === 'succeeded' ? true : undefined;
      },
      90_000,
    );
    await open(`#/fusion-profiles/${made.profile}`);
    await chartsDrawn(page, 1);

    // "Use in a projection" preselects its workload and fusion config; the form adds the rest.
    await page.click('#use-in-projection');
    await page.waitForFunction(
      () => document.body.dataset.loaded === 'true' && !!document.getElementById('new-projection'),
    );
    expect(await page.inputValue('#new-workloadProfileId')).toBe(made.workload);
    expect(await page.inputValue('#new-fusionConfigId')).toBe(made.config);
    expect(await page.$$eval('#new-threshold option', (o) => o.map((x) => x.textContent))).toEqual([
      '0.75',
      '0.85',
    ]);
    await page.selectOption('#new-deploymentId', made.deployment);
    await page.selectOption('#new-threshold', '0.85');
    await page.click('#new-projection details summary');
    await page.fill('#new-seed', '3');
    await page.fill('#new-sloTtft', '2000');
    await page.click('#run-projection');
    await page.waitForFunction(() => /^#\/projections\/[0-9a-f-]{36}$/.test(location.hash));
    const id = (await page.evaluate(() => location.hash)).split('/').pop()!;
    const done = await until(
      'projection done',
      async () => {
        const p = await call<{
          status: string;
          spec: { seed: number; slo: unknown; fusion: { threshold: number } };
          result: { fusion: { fusionProfileId: string; profileSource: string } } | null;
        }>('GET', `/api/v1/projections/${id}`);
        return p.status === 'succeeded' || p.status === 'failed' ? p : undefined;
      },
      90_000,
    );
    expect(done.status).toBe('succeeded');
    expect(done.spec.seed).toBe(3);
    expect(done.spec.slo).toEqual({ ttftMs: { p99: 2000 } });
    expect(done.spec.fusion.threshold).toBe(0.85);
    // The projection used the profile built through the UI.
    expect(done.result!.fusion).toMatchObject({ fusionProfileId: made.profile, profileSource: 'synthetic' });
    await shot('08-projection-from-ui');
  }, 200_000);
  it('plans capacity through the form: fewest replicas within a TTFT SLO', async () => {
    await open('#/capacity-plans');
    await page.selectOption('#plan-workloadProfileId', made.workload);
    await page.selectOption('#plan-deploymentId', made.deployment);
    await page.selectOption('#plan-mode', 'min-gpus');
    expect(await page.textContent('#new-plan')).toMatch(/Replica counts/);
    await page.fill('#plan-sweep', '1 2');
    await page.fill('#plan-sloTtft', '3000');
    await page.click('#create-plan');
    await page.waitForFunction(() => /^#\/capacity-plans\/[0-9a-f-]{36}$/.test(location.hash));
    const id = (await page.evaluate(() => location.hash)).split('/').pop()!;
    const plan = await until(
      'capacity plan done',
      async () => {
        const p = await call<{ status: string; mode: string; points: unknown[]; slo: unknown }>(
          'GET',
          `/api/v1/capacity-plans/${id}`,
        );
        return p.status === 'succeeded' || p.status === 'failed' ? p : undefined;
      },
      90_000,
    );
    expect(plan).toMatchObject({ status: 'succeeded', mode: 'min-gpus', slo: { ttftMs: { p99: 3000 } } });
    expect(plan.points).toHaveLength(2);
    // The page followed the flow live and redrew itself with the answer, without a reload.
    await page.waitForSelector('#plan-status [data-status="succeeded"]', { timeout: 30_000 });
    await chartsDrawn(page, 1);
    expect(await page.textContent('.lead')).toMatch(/SLO: TTFT p99 ≤ 3,000 ms/);
    expect(await page.textContent('#plan-took')).toMatch(
      /^Ran \d+\.\d s over 2 point simulations, \d+\.\d s from queued to the answer\.$/,
    );
    expect(await page.textContent('main section.panel > table.grid')).toMatch(/KV peak/);
  }, 120_000);
});

describe("the planner's answer, through the UI from an empty workspace", () => {
  let context: BrowserContext;
  let p: Page;
  let key = '';
  let ws = '';
  const made = { workload: '', l4: '', h100: '', config: '', profile: '', plan: '' };
  /** A row of the workspace through the api, once its job succeeded (failing the test if it failed). */
  const done = (what: string, url: string, timeoutMs = 120_000) =>
    until(
      what,
      async () => {
        const res = await fetch(base + url, { headers: { authorization: `Bearer ${key}` } });
        const row = (await res.json()) as { status: string; job?: { error: string | null } };
        if (row.status === 'failed') throw new Error(`${what} failed: ${row.job?.error}`);
        return row.status === 'succeeded' ? row : undefined;
      },
      timeoutMs,
    );
  const idFromHash = async () => (await p.evaluate(() => location.hash)).split('/').pop()!;

  beforeAll(async () => {
    const a = await new WorkspaceRepository(ds).createWorkspaceWithAdminKey('planner-team');
    key = a.secret;
    ws = a.workspace.id;
    context = await browser.newContext({ viewport: { width: 1440, height: 900 }, deviceScaleFactor: 1 });
    p = await context.newPage();
    p.on('pageerror', (e) => process.stderr.write(`[page] ${e.message}\n`));
    await p.goto(`${base}/`);
    await p.fill('#api-key', key);
    await p.click('#login-form button');
    await p.waitForSelector('#new-projection');
  });
  afterAll(async () => {
    await context?.close();
  });

  it('starts empty, uploads the sample trace and makes a workload of it', async () => {
    await open('#/projections', p);
    expect(await p.textContent('main')).toMatch(/0 in this workspace|No projections yet/);
    await open('#/workload-profiles', p);
    const sample = fs.readFileSync(path.join(repoRoot, 'examples', 'traces', 'sample.csv'), 'utf8');
    await dropFile(p, 'sample.csv', sample);
    await p.waitForSelector('#trace-profile', { timeout: 15_000 });
    await p.fill('#trace-profile-name', 'sample trace');
    await p.click('#trace-profile');
    await p.waitForFunction(() => /^#\/workload-profiles\/[0-9a-f-]{36}$/.test(location.hash));
    made.workload = await idFromHash();
  });

  it('creates two deployments on different GPUs from the presets, each with its price', async () => {
    for (const [name, gpu, price] of [
      ['llama-8b on L4', 'l4', '0.8'],
      ['llama-8b on H100', 'h100-sxm', '3.2'],
    ]) {
      await open('#/deployments', p);
      await p.fill('#new-deployment #f-name', name);
      await p.selectOption('#new-deployment #f-model', 'meta-llama/Llama-3.1-8B');
      await p.selectOption('#new-deployment #f-gpu', gpu);
      await p.fill('#new-deployment #f-gpuHourUsd', price);
      await p.click('#new-deployment details summary');
      await p.fill('#new-deployment #f-maxModelLen', '4096');
      await p.click('#create-deployment');
      await p.waitForFunction(
        (n) => document.querySelector('#deployments-table')?.textContent?.includes(n),
        name,
      );
    }
    const list = (await (
      await fetch(`${base}/api/v1/deployments?limit=10`, { headers: { authorization: `Bearer ${key}` } })
    ).json()) as { items: Array<{ id: string; gpu: string; cost: unknown }> };
    made.l4 = list.items.find((d) => d.gpu === 'l4')!.id;
    made.h100 = list.items.find((d) => d.gpu === 'h100-sxm')!.id;
    expect(list.items.find((d) => d.gpu === 'h100-sxm')!.cost).toEqual({ gpuHourUsd: 3.2 });
  });

  it('creates a fusion config, builds a fusion profile and runs a projection per threshold', async () => {
    await open('#/fusion-profiles', p);
    await p.fill('#new-fusion-config #f-name', 'bff');
    await p.selectOption('#new-fusion-config #f-mode', 'bff');
    await p.fill('#new-fusion-config #f-thresholds', '0.75, 0.85');
    await p.fill('#new-fusion-config #f-batchSizes', '4');
    await p.click('#create-fusion-config');
    await p.waitForFunction(
      () => !!document.querySelector('#build-fusionConfigId option[value]:not([value=""])'),
    );
    await p.selectOption('#build-workloadProfileId', made.workload);
    made.config = await p.inputValue('#build-fusionConfigId');
    await p.selectOption('#build-deploymentId', made.l4);
    await p.fill('#build-fusion-profile #f-sampleSize', '4');
    await p.fill('#build-fusion-profile #f-maxPromptTokens', '64');
    await p.click('#build-profile');
    await p.waitForFunction(() => /^#\/fusion-profiles\/[0-9a-f-]{36}$/.test(location.hash));
    made.profile = await idFromHash();
    await done('fusion profile', `/api/v1/fusion-profiles/${made.profile}`);

    const projections: string[] = [];
    for (const threshold of ['0.75', '0.85']) {
      await open('#/projections', p);
      await p.selectOption('#new-workloadProfileId', made.workload);
      await p.selectOption('#new-deploymentId', made.l4);
      await p.selectOption('#new-fusionConfigId', made.config);
      await p.selectOption('#new-threshold', threshold);
      await p.click('#run-projection');
      await p.waitForFunction(() => /^#\/projections\/[0-9a-f-]{36}$/.test(location.hash));
      projections.push(await idFromHash());
    }
    for (const [i, id] of projections.entries()) {
      const got = (await done(`projection ${i}`, `/api/v1/projections/${id}`)) as unknown as {
        spec: { fusion: { threshold: number } };
        result: { fusion: { fusionProfileId: string } };
      };
      expect(got.spec.fusion.threshold).toBe([0.75, 0.85][i]);
      expect(got.result.fusion.fusionProfileId).toBe(made.profile);
    }
  }, 240_000);

  it('plans capacity across both GPUs and answers in one sentence naming the GPU type, count and cost', async () => {
    await open('#/capacity-plans', p);
    await p.selectOption('#answer-workloadProfileId', made.workload);
    await p.selectOption('#answer-fusionConfigId', made.config);
    await p.fill('#answer-thresholds', '0.85');
    await p.fill('#answer-sloTtft', '3000');
    // Both deployments are ticked.
    expect(await p.$$eval('#answer-deployments input:checked', (b) => b.length)).toBe(2);
    await p.click('#create-answer');
    await p.waitForFunction(() => /^#\/capacity-plans\/[0-9a-f-]{36}$/.test(location.hash));
    made.plan = await idFromHash();
    // The page follows the flow, then redraws itself with the answer.
    await p.waitForSelector('#answer-sentence', { timeout: 240_000 });
    const plan = (await done('answer plan', `/api/v1/capacity-plans/${made.plan}`)) as unknown as {
      result: PlanAnswer;
      job: { startedAt: string; finishedAt: string; createdAt: string };
    };
    const answer = plan.result;
    fs.writeFileSync(path.join(artifacts, '11-answer.json'), JSON.stringify(answer, null, 2));
    expect(answer.rows.map((r) => `${r.gpu} ${r.threshold}`).sort()).toEqual([
      'h100-sxm 0.85',
      'h100-sxm null',
      'l4 0.85',
      'l4 null',
    ]);
    // The fused configurations ran with the profile built above (its accuracy named, or why none).
    for (const r of answer.rows.filter((x) => x.threshold !== null))
      expect(r.profileSource).toBe('synthetic');
    const best = answer.rows.find((r) => r.index === answer.best)!;
    const sentence = (await p.textContent('#answer-sentence'))!;
    expect(sentence).toBe(answer.sentence);
    // GPU type, count and cost.
    expect(sentence).toMatch(
      new RegExp(
        `^Serve [\\d.]+ req/s on ${best.gpus} x ${best.gpuName} \\(${best.gpu}, TP1, ${best.replicas} replicas?\\) for \\$${best.usdPerHour!.toFixed(2)}/h`,
      ),
    );
    // Then fusion at the threshold: what it saves (or that it saves nothing) and its accuracy cost, named.
    expect(sentence).toMatch(
      /; (with BFF at 0\.85, \d+ x NVIDIA .* for \$[\d.]+\/h|BFF at 0\.85 saves nothing here \(the same \d+ x [\w-]+\),) at an accuracy cost of [a-z]/,
    );
    expect(sentence).toMatch(/(lower|higher) is better/);
    // One table row per configuration, priced; no row claims 0 req/s.
    const cells = await p.$$eval('#answer-table tbody tr', (trs) =>
      trs.map((tr) => [...tr.querySelectorAll('td')].map((td) => td.textContent ?? '')),
    );
    expect(cells).toHaveLength(4);
    for (const c of cells) {
      expect(c[3]).toMatch(/^\$\d/);
      expect(c[6]).not.toBe('0');
    }
    expect(cells[answer.best!][0]).toMatch(/cheapest without fusion/);
    // The recommended size says how likely it meets each SLO term, as stored.
    expect(best.sloAtSize!.length).toBeGreaterThan(0);
    for (const t of best.sloAtSize!) expect(cells[answer.best!][2]).toContain(t.text);
    // The front column marks exactly the rows the stored answer puts on it.
    expect(cells.map((c) => c[11].startsWith('★'))).toEqual(answer.rows.map((r) => r.pareto));
    expect(answer.rows.some((r) => r.pareto)).toBe(true);
    // The flow's job ran from its first configuration to the answer (not only the aggregation).
    const ran = Date.parse(plan.job.finishedAt) - Date.parse(plan.job.startedAt);
    expect(ran).toBeGreaterThan(200);
    expect(await p.textContent('#plan-took')).toMatch(
      /^Ran \d+\.\d s over 4 configurations, after \d+\.\d s in the queue\.$/,
    );
    await shot('11-answer', p);
    await open('#/capacity-plans', p);
    expect(await p.textContent('#capacity-table')).toContain(`${best.gpus} x ${best.gpu} (TP1)`);
  }, 300_000);

  it('shows a failed answer plan as failed, on its page and in the list', async () => {
    const plans = new CapacityPlanRepository(ds);
    const jobs = new JobRepository(ds);
    const { plan, job } = await plans.createWithJob(ws, {
      mode: 'answer',
      spec: { note: 'fails on purpose' },
      points: [
        {
          deploymentId: made.l4,
          deploymentName: 'llama-8b on L4',
          gpu: 'l4',
          tensorParallel: 1,
          threshold: null,
        },
      ],
      slo: { ttftMs: { p99: 3000 } },
      fusionProfileId: null,
    });
    await open(`#/capacity-plans/${plan.id}`, p);
    await p.waitForSelector('#job-progress');
    // As the worker writes it when a configuration's search fails for good.
    await jobs.markRunning(job.id);
    await jobs.markFailed(job.id, 'bad input: workload.trace: the stored trace is missing');
    await p.waitForSelector('#job-failure', { timeout: 10_000 });
    expect(await p.textContent('#plan-status')).toMatch(/failed/);
    expect(await p.textContent('#job-failure pre')).toBe(
      'bad input: workload.trace: the stored trace is missing',
    );
    await open('#/capacity-plans', p);
    const row = await p.evaluate(
      (s) =>
        [...document.querySelectorAll('#capacity-table tbody tr')].find((tr) => tr.textContent!.includes(s))!
          .textContent!,
      plan.id.slice(0, 8),
    );
    expect(row).toMatch(/failed/);
    expect(row).not.toMatch(/0 %/);
  });

  it('fits the answer on a phone without sideways scrolling', async () => {
    const phone = await browser.newContext({ viewport: { width: 390, height: 844 }, deviceScaleFactor: 2 });
    try {
      const q = await phone.newPage();
      await q.goto(`${base}/`);
      await q.fill('#api-key', key);
      await q.click('#login-form button');
      await q.waitForSelector('#new-projection');
      for (const [name, hash] of [
        ['answer', `#/capacity-plans/${made.plan}`],
        ['answer-form', '#/capacity-plans'],
      ]) {
        await open(hash, q);
        const m = await phoneLayout(q);
        expect(m.scrollWidth, `${name}: page width`).toBeLessThanOrEqual(m.width);
        expect(m.navInHeader, `${name}: nav inside the header`).toBe(true);
        expect(m.spill, `${name}: panels wider than the screen`).toBe(0);
        await shot(`phone-${name}`, q);
      }
    } finally {
      await phone.close();
    }
  });
});

describe('on a phone (390 x 844)', () => {
  it('keeps the nav in the header and every table inside its panel, page by page', async () => {
    const phone = await browser.newContext({ viewport: { width: 390, height: 844 }, deviceScaleFactor: 2 });
    const p = await phone.newPage();
    try {
      await p.goto(`${base}/`);
      await p.fill('#api-key', keys.admin);
      await p.click('#login-form button');
      await p.waitForSelector('#new-projection');
      // A favicon of its own, inline: nothing asked of the server for it.
      expect(await p.getAttribute('link[rel="icon"]', 'href')).toMatch(/^data:image\/svg\+xml,/);
      for (const [name, hash] of [
        ['projections', '#/projections'],
        ['projection', `#/projections/${ids.projection}`],
        ['capacity-plans', '#/capacity-plans'],
        ['capacity-plan', `#/capacity-plans/${ids.plan}`],
        ['workload-profiles', '#/workload-profiles'],
        ['fusion-profiles', '#/fusion-profiles'],
        ['deployments', '#/deployments'],
        ['workload-profile', `#/workload-profiles/${ids.profile}`],
        ['fusion-profile', `#/fusion-profiles/${ids.fusionProfile}`],
        ['jobs', '#/jobs'],
      ]) {
        await p.evaluate((h) => {
          delete document.body.dataset.loaded;
          location.hash = h;
        }, hash);
        await p.waitForFunction(() => document.body.dataset.loaded === 'true', undefined, {
          timeout: 30_000,
        });
        const m = await phoneLayout(p);
        expect(m.scrollWidth, `${name}: page width`).toBeLessThanOrEqual(m.width);
        expect(m.navInHeader, `${name}: nav inside the header`).toBe(true);
        expect(m.spill, `${name}: panels wider than the screen`).toBe(0);
        await p.screenshot({ path: path.join(artifacts, `phone-${name}.png`), fullPage: true });
      }
      expect(requested.filter((u) => u.endsWith('/favicon.ico'))).toEqual([]);
    } finally {
      await phone.close();
    }
  }, 90_000);
});

describe('for people', () => {
  it('names each chart, reads its data as a hidden table, shows focus, and follows a dark system theme', async () => {
    await open(`#/capacity-plans/${ids.plan}`);
    await chartsDrawn(page, 1);
    const a11y = await page.evaluate(() => {
      const box = document.querySelector('[data-chart="capacity-sweep"]')!;
      const title = document.getElementById(box.getAttribute('aria-labelledby')!)!.textContent;
      const t = document.querySelector('[data-chart-table="capacity-sweep"]')!;
      const chart = window.kvplanCharts.get('capacity-sweep')!;
      const series = (chart.getOption() as { series: Array<{ data: unknown[] }> }).series;
      return {
        role: box.getAttribute('role'),
        title,
        rows: t.querySelectorAll('table tbody tr').length,
        points: series.reduce((n, s) => n + s.data.length, 0),
        drawn: t.getBoundingClientRect().width,
      };
    });
    expect(a11y.role).toBe('img');
    expect(a11y.title).toMatch(/Sweep/);
    // Every plotted point is a row, and the table takes no room on screen.
    expect(a11y.rows).toBe(a11y.points);
    expect(a11y.rows).toBeGreaterThan(0);
    expect(a11y.drawn).toBeLessThanOrEqual(1);
    // Keyboard focus is drawn.
    await open('#/jobs');
    await page.focus('#filter-status');
    await page.keyboard.press('Tab');
    await page.keyboard.press('Shift+Tab');
    expect(await page.evaluate(() => getComputedStyle(document.activeElement!).outlineStyle)).toBe('solid');
    // A dark system theme turns the page dark.
    const dark = await browser.newContext({ viewport: { width: 1000, height: 700 }, colorScheme: 'dark' });
    try {
      const p = await dark.newPage();
      await p.goto(`${base}/`);
      const bg = await p.evaluate(() => getComputedStyle(document.documentElement).backgroundColor);
      const [r, g, b] = bg.match(/\d+/g)!.map(Number);
      expect(r + g + b).toBeLessThan(150);
    } finally {
      await dark.close();
    }
  });
});

describe('operations', () => {
  it('logs JSON lines and carries the request id from the api into the job the worker runs', async () => {
    const parse = (l: string) => {
      try {
        return JSON.parse(l) as Record<string, unknown>;
      } catch {
        return null;
      }
    };
    const apiLines = procs.api.lines.map(parse);
    const workerLines = procs.worker.lines.map(parse);
    expect(
      apiLines.every((l) => l !== null && typeof l.level === 'string' && typeof l.time === 'string'),
    ).toBe(true);
    expect(workerLines.every((l) => l !== null && l.service === 'worker')).toBe(true);
    const post = apiLines.find(
      (l) => l!.route === '/api/v1/projections' && l!.method === 'POST' && l!.status === 202,
    );
    expect(post?.requestId).toMatch(/^[0-9a-f-]{36}$/);
    const jobLines = workerLines.filter((l) => l!.requestId === post!.requestId);
    expect(jobLines.map((l) => l!.msg)).toEqual(expect.arrayContaining(['job started', 'job done']));
    expect(jobLines[0]!.jobName).toBe('simulate.projection');
    // The key is never logged.
    expect([...procs.api.lines, ...procs.worker.lines].some((l) => l.includes(keys.admin))).toBe(false);
  });

  it('exposes worker heartbeats and projections per hour, and the Grafana dashboard only uses metrics that exist', async () => {
    const text = await (await fetch(`${base}/metrics`)).text();
    expect(text).toMatch(/^kvplan_workers\{queue="any"\} 1$/m);
    expect(text).toMatch(/^kvplan_workers\{queue="simulate"\} 1$/m);
    expect(text).toMatch(/^kvplan_worker_heartbeat_age_seconds\{worker="[^"]+"\} \d/m);
    const created = Number(/^kvplan_projections_last_hour\{state="created"\} (\d+)/m.exec(text)?.[1]);
    expect(created).toBeGreaterThanOrEqual(2);
    const finished = /^kvplan_worker_jobs_finished\{worker="[^"]+",outcome="completed"\} (\d+)/m.exec(text);
    expect(Number(finished?.[1])).toBeGreaterThanOrEqual(2);

    const dash = JSON.parse(
      fs.readFileSync(path.join(repoRoot, 'ops', 'grafana', 'dashboards', 'kvplan-service.json'), 'utf8'),
    ) as { panels: Array<{ title: string; targets?: Array<{ expr: string }> }> };
    const exposed = new Set(
      [...text.matchAll(/^# TYPE (\S+) (\S+)/gm)].flatMap(([, name, type]) =>
        type === 'histogram' ? [`${name}_bucket`, `${name}_sum`, `${name}_count`] : [name],
      ),
    );
    const used = dash.panels.flatMap((p) =>
      (p.targets ?? []).flatMap((t) => [...t.expr.matchAll(/\b(kvplan_[a-z0-9_]+)/g)].map((m) => m[1])),
    );
    expect(used.length).toBeGreaterThan(8);
    expect([...new Set(used)].filter((m) => !exposed.has(m))).toEqual([]);
    for (const title of [
      'worker',
      'projections per hour',
      'requests',
      'latency',
      'queued',
      'running',
      'failed',
      'duration',
    ])
      expect(dash.panels.map((p) => p.title.toLowerCase()).join(' | ')).toContain(title);
  });
});
