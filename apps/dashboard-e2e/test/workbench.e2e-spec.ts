// The planner's workbench in Chromium against the real api, worker, PostgreSQL and Redis:
// projections compared with the selection in the URL, a failed job retried from the jobs page,
// charts exported as PNG and tables as CSV, and the intervals the results store, as shown.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseTrace, workloadBreakdown } from '@kvplan/sim';
import { repoRoot, startStack, until, type Stack } from './support/stack';

let s: Stack;
const ids = { a: '', b: '', failed: '', failedJob: '', traceFile: '', traced: '' };
let traceText = '';

interface Proj {
  id: string;
  status: string;
  job: { id: string; status: string; error: string | null };
  result: {
    withoutFusion: {
      p99_ttft_ms: number;
      median_ttft_ms: number;
      p90_ttft_ms: number;
      intervals: { level: number; calibrated: string; metrics: Record<string, [number, number]> };
    };
  } | null;
}

const settled = (id: string, want: 'succeeded' | 'failed', timeoutMs = 120_000) =>
  until(
    `projection ${id} ${want}`,
    async () => {
      const p = await s.call<Proj>('GET', `/api/v1/projections/${id}`);
      if (p.job.status === 'failed' && want === 'succeeded') throw new Error(`failed: ${p.job.error}`);
      return p.job.status === want ? p : undefined;
    },
    timeoutMs,
  );

/** The page's number format (dom.ts fmtMs): three significant digits, ms. */
const ms = (x: number) =>
  `${Number(x.toPrecision(3)).toLocaleString('en-US', { maximumFractionDigits: 6 })} ms`;

/** Series names and point counts of a chart the page drew. */
const seriesOf = (name: string) =>
  s.page.evaluate(
    (n) =>
      (
        window.kvplanCharts.get(n)!.getOption() as { series: Array<{ name: string; data: unknown[] }> }
      ).series.map((x) => ({ name: x.name, points: x.data.length })),
    name,
  );

const drawn = (n: number) =>
  s.page.waitForFunction(
    (count) =>
      document.body.dataset.loaded === 'true' &&
      document.querySelectorAll('[data-chart-state="drawn"]').length >= count,
    n,
    { timeout: 30_000 },
  );

beforeAll(async () => {
  s = await startStack('workbench');
  const deployment = async (name: string, gpu: string) =>
    (
      await s.call<{ id: string }>('POST', '/api/v1/deployments', {
        name,
        model: 'meta-llama/Llama-3.1-8B',
        gpu,
        engine: { maxModelLen: 4096 },
        slo: { ttftMs: { p99: 800 } },
      })
    ).id;
  const [l4, h100] = [await deployment('on L4', 'l4'), await deployment('on H100', 'h100-sxm')];
  const profile = (
    await s.call<{ id: string }>('POST', '/api/v1/workload-profiles', {
      name: 'chat',
      workload: {
        arrival: { process: 'poisson', rate: 2 },
        numRequests: 60,
        inputTokens: { lognormal: { median: 500, sigma: 0.4 } },
        outputTokens: { uniform: [20, 60] },
      },
    })
  ).id;
  const project = async (workloadProfileId: string, deploymentId: string) =>
    (await s.call<{ id: string }>('POST', '/api/v1/projections', { workloadProfileId, deploymentId })).id;
  ids.a = await project(profile, l4);
  ids.b = await project(profile, h100);
  // A run that fails for real: its workload replays a stored trace whose file is then taken away.
  const sample = fs.readFileSync(path.join(repoRoot, 'examples', 'traces', 'sample.csv'), 'utf8');
  const res = await fetch(`${s.base}/api/v1/traces?name=short`, {
    method: 'POST',
    headers: { authorization: `Bearer ${s.keys.admin}`, 'content-type': 'text/csv' },
    body: (traceText = sample.split('\n').slice(0, 41).join('\n') + '\n'),
  });
  expect(res.status).toBe(201);
  const trace = (await res.json()) as { id: string };
  const traced = (
    await s.call<{ id: string }>('POST', '/api/v1/workload-profiles', {
      name: 'short trace',
      workload: {},
      traceId: trace.id,
    })
  ).id;
  ids.traced = traced;
  ids.traceFile = path.join(s.storage, 'traces', s.workspaceId, `${trace.id}.csv`);
  expect(fs.existsSync(ids.traceFile)).toBe(true);
  fs.renameSync(ids.traceFile, `${ids.traceFile}.away`);
  ids.failed = await project(traced, l4);
  const failed = await settled(ids.failed, 'failed', 60_000);
  ids.failedJob = failed.job.id;
  await settled(ids.a, 'succeeded');
  await settled(ids.b, 'succeeded');
}, 240_000);

afterAll(async () => {
  await s?.stop();
});

describe('compare', () => {
  it('overlays the projections ticked in the list, and the link reproduces them after a reload', async () => {
    await s.open('#/projections');
    for (const id of [ids.a, ids.b]) await s.page.check(`.compare-tick[data-id="${id}"]`);
    await s.page.click('#compare-projections');
    await s.page.waitForFunction(() => location.hash.startsWith('#/compare?'));
    const hash = await s.page.evaluate(() => location.hash);
    expect(hash).toBe(`#/compare?projections=${ids.a},${ids.b}`);
    await drawn(6);
    const before = {
      ttft: await seriesOf('compare-cdf-ttft'),
      rate: await seriesOf('compare-throughput'),
      kv: await seriesOf('compare-kv'),
    };
    // One curve per projection (neither asked for fusion), each with its data.
    for (const series of Object.values(before)) {
      expect(series.map((x) => x.name.slice(0, 8))).toEqual([ids.a.slice(0, 8), ids.b.slice(0, 8)]);
      for (const x of series) expect(x.points).toBeGreaterThan(1);
    }
    expect(before.ttft.map((x) => x.name)).toEqual([
      expect.stringContaining('l4'),
      expect.stringContaining('h100-sxm'),
    ]);
    expect(before.ttft.every((x) => x.points === 101)).toBe(true);
    // Each projection's p99 TTFT in the table with the interval its result stores.
    const cells = await s.page.$$eval('#compare-table tbody tr', (trs) =>
      trs.map((tr) => tr.children[5].textContent),
    );
    for (const [i, id] of [ids.a, ids.b].entries()) {
      const r = (await s.call<Proj>('GET', `/api/v1/projections/${id}`)).result!.withoutFusion;
      const [lo, hi] = r.intervals.metrics.p99_ttft_ms;
      expect(cells[i]).toBe(`${ms(r.p99_ttft_ms)} (90 % interval ${ms(lo)}–${ms(hi)})`);
    }
    await s.shot('20-compare');
    // The same URL after a reload (the key stays in the tab) draws the same overlay.
    await s.page.reload();
    await drawn(6);
    expect(await s.page.evaluate(() => location.hash)).toBe(hash);
    expect(await seriesOf('compare-cdf-ttft')).toEqual(before.ttft);
    expect(await seriesOf('compare-throughput')).toEqual(before.rate);
  }, 60_000);

  it('names what is wrong with a selection instead of drawing a blank page', async () => {
    const unknown = '00000000-0000-4000-8000-000000000000';
    await s.open(`#/compare?projections=${ids.a},${unknown},${ids.failed}`);
    const problems = await s.page.textContent('#compare-problems');
    expect(problems).toContain(`projection ${unknown} is not in this workspace (unknown id).`);
    expect(problems).toContain(`projection ${ids.failed.slice(0, 8)} failed (`);
    // What can be drawn still is: the one good projection.
    await drawn(6);
    expect((await seriesOf('compare-cdf-ttft')).length).toBe(1);
    await s.open(
      `#/compare?projections=${[ids.a, ids.b, ids.failed, unknown, unknown.replace(/0$/, '1')].join(',')}`,
    );
    expect(await s.page.textContent('#compare-problems')).toContain(
      '5 items are selected: compare takes two to four (untick 1).',
    );
    expect(await s.page.$$('[data-chart]')).toHaveLength(0);
    await s.open('#/compare');
    expect(await s.page.textContent('#compare-problems')).toContain('Nothing is selected');
    // One item: said so, and the next one is added from the page itself.
    await s.open(`#/compare?projections=${ids.a}`);
    expect(await s.page.textContent('#compare-problems')).toContain('Only one item is selected');
    await s.page.selectOption('#compare-add', `projection:${ids.b}`);
    await s.page.click('#compare-add-button');
    await s.page.waitForFunction((h) => location.hash === h, `#/compare?projections=${ids.a},${ids.b}`);
    await drawn(6);
    expect(await s.page.$('#compare-problems')).toBeNull();
  });
});

describe('operate', () => {
  it('retries a failed job from the jobs page: queued again, it runs to success', async () => {
    fs.renameSync(`${ids.traceFile}.away`, ids.traceFile);
    await s.open('#/jobs?status=failed');
    const row = s.page.locator('#jobs-table tbody tr', { hasText: ids.failedJob.slice(0, 8) });
    expect(await row.locator('[data-status="failed"]').count()).toBe(1);
    await row.locator('.retry-job').click();
    // The row shows the job queued (or already running / done) without a reload.
    await s.page.waitForFunction(
      (id) =>
        [...document.querySelectorAll('#jobs-table tbody tr')].some(
          (tr) => tr.textContent!.includes(id) && !tr.querySelector('[data-status="failed"]'),
        ),
      ids.failedJob.slice(0, 8),
    );
    const done = await settled(ids.failed, 'succeeded');
    expect(done.job).toMatchObject({ id: ids.failedJob, status: 'succeeded', error: null });
  }, 150_000);
});

describe('export', () => {
  it('downloads a chart as a PNG and a table as CSV', async () => {
    await s.open(`#/projections/${ids.a}`);
    await drawn(5);
    const [png] = await Promise.all([
      s.page.waitForEvent('download'),
      s.page.click('[data-export-png="cdf-ttft"]'),
    ]);
    expect(png.suggestedFilename()).toBe('cdf-ttft.png');
    const bytes = fs.readFileSync((await png.path())!);
    expect([...bytes.subarray(0, 8)]).toEqual([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
    // Twice the canvas' CSS pixels (pixelRatio 2): width at bytes 16-19 of the IHDR chunk.
    const cssWidth = await s.page.evaluate(() => window.kvplanCharts.get('cdf-ttft')!.getDom().clientWidth);
    expect(bytes.readUInt32BE(16)).toBe(cssWidth * 2);
    await s.open('#/projections');
    const [csv] = await Promise.all([
      s.page.waitForEvent('download'),
      s.page.click('[data-export-csv="projections-table"]'),
    ]);
    const text = fs.readFileSync((await csv.path())!, 'utf8');
    const lines = text.trim().split('\r\n');
    expect(lines[0]).toBe('id,created,workload,deployment,fusion,status,tok/s,tok/s fused,gain,p99 TTFT');
    expect(lines.length).toBe(4);
    expect(text).toContain(ids.a.slice(0, 8));
  });
});

describe('intervals', () => {
  it('shows the intervals and the calibration class the result stores, in cards, table and CDF bars', async () => {
    const stored = (await s.call<Proj>('GET', `/api/v1/projections/${ids.a}`)).result!.withoutFusion;
    const iv = stored.intervals;
    expect(iv.level).toBe(0.9);
    await s.open(`#/projections/${ids.a}`);
    await drawn(5);
    expect(await s.page.textContent('#calibration-card .stat-value')).toBe(iv.calibrated);
    const [lo, hi] = iv.metrics.p99_ttft_ms;
    expect(lo).toBeLessThan(stored.p99_ttft_ms);
    expect(hi).toBeGreaterThan(stored.p99_ttft_ms);
    expect(await s.page.textContent('[data-metric="p99_ttft_ms"] .stat-value')).toBe(ms(stored.p99_ttft_ms));
    expect(await s.page.textContent('[data-metric="p99_ttft_ms"] .stat-sub')).toBe(
      `(90 % interval ${ms(lo)}–${ms(hi)})`,
    );
    const row = await s.page.$$eval('#intervals-table tbody tr', (trs) =>
      trs.map((tr) => [...tr.children].map((td) => td.textContent)),
    );
    expect(row.find((r) => r[0] === 'p99 TTFT')).toEqual([
      'p99 TTFT',
      `${ms(stored.p99_ttft_ms)} (90 % interval ${ms(lo)}–${ms(hi)})`,
    ]);
    // The CDF's error bars span exactly the stored intervals, at the median, p90 and p99.
    const bars = await s.page.evaluate(() => {
      const opt = window.kvplanCharts.get('cdf-ttft')!.getOption() as {
        series: Array<{ markLine: { data: Array<Array<{ coord: [number, number] }>> } }>;
      };
      return opt.series[0].markLine.data.map(([a, b]) => [a.coord, b.coord]);
    });
    expect(bars).toEqual(
      (
        [
          ['median', 0.5],
          ['p90', 0.9],
          ['p99', 0.99],
        ] as const
      ).map(([q, y]) => [
        [iv.metrics[`${q}_ttft_ms`][0], y],
        [iv.metrics[`${q}_ttft_ms`][1], y],
      ]),
    );
    await s.shot('21-projection-intervals');
  });
});

describe('workload profiles', () => {
  it('breaks a trace down by tenant and prefix group, as libs/sim computes it from the file', async () => {
    const want = workloadBreakdown(parseTrace(traceText, 'trace.csv'));
    expect(want.tenants.length).toBeGreaterThan(1);
    expect(want.prefixGroups.length).toBeGreaterThan(1);
    const hist = await s.call<{ breakdown: typeof want }>(
      'GET',
      `/api/v1/dashboard/workload-profiles/${ids.traced}/histograms`,
    );
    expect(hist.breakdown).toEqual(want);
    await s.open(`#/workload-profiles/${ids.traced}`);
    for (const [table, rows] of [
      ['#tenant-breakdown', want.tenants],
      ['#prefix-group-breakdown', want.prefixGroups],
    ] as const) {
      const shown = await s.page.$$eval(`${table} tbody tr`, (trs) =>
        trs.map((tr) => [...tr.children].map((td) => td.textContent)),
      );
      expect(shown.map((r) => [r[0], Number(r[1])])).toEqual(rows.map((r) => [r.name, r.requests]));
      // token share and prefix-hit potential as percentages with three significant digits
      const pct = (x: number) => `${Number((x * 100).toPrecision(3)).toLocaleString('en-US')} %`;
      expect(shown.map((r) => [r[4], r[6]])).toEqual(
        rows.map((r) => [pct(r.tokenShare), pct(r.prefixHitPotential)]),
      );
    }
    await s.shot('22-workload-breakdowns');
  });
});

describe('on a phone (390 x 844)', () => {
  it('keeps the nav in the header and the pages of this suite within the screen', async () => {
    const phone = await s.browser.newContext({ viewport: { width: 390, height: 844 }, deviceScaleFactor: 2 });
    const p = await phone.newPage();
    try {
      await p.goto(`${s.base}/`);
      await p.fill('#api-key', s.keys.admin);
      await p.click('#login-form button');
      await p.waitForFunction(() => document.body.dataset.loaded === 'true');
      for (const [name, hash] of [
        ['compare', `#/compare?projections=${ids.a},${ids.b}`],
        ['compare-bad', `#/compare?projections=${ids.a},00000000-0000-4000-8000-000000000000`],
        ['projections-ticks', '#/projections'],
        ['projection-intervals', `#/projections/${ids.a}`],
        ['jobs-retry', '#/jobs'],
        ['workload-breakdowns', `#/workload-profiles/${ids.traced}`],
      ]) {
        await p.evaluate((h) => {
          delete document.body.dataset.loaded;
          location.hash = h;
        }, hash);
        await p.waitForFunction(() => document.body.dataset.loaded === 'true', undefined, {
          timeout: 30_000,
        });
        const m = await p.evaluate(() => {
          const nav = document.getElementById('nav')!.getBoundingClientRect();
          const header = document.querySelector('header.top')!.getBoundingClientRect();
          const wide = [...document.querySelectorAll('main *')].filter(
            (e) => e.getBoundingClientRect().right > window.innerWidth + 0.5 && !e.closest('.panel'),
          ).length;
          const spill = [...document.querySelectorAll('.panel')].filter(
            (panel) => panel.getBoundingClientRect().right > window.innerWidth + 0.5,
          ).length;
          return {
            scrollWidth: document.documentElement.scrollWidth,
            width: window.innerWidth,
            navInHeader: nav.right <= header.right + 0.5 && nav.bottom <= header.bottom + 0.5,
            wide,
            spill,
          };
        });
        expect(m.scrollWidth, `${name}: page width`).toBeLessThanOrEqual(m.width);
        expect(m.navInHeader, `${name}: nav inside the header`).toBe(true);
        expect(m.spill, `${name}: panels wider than the screen`).toBe(0);
        expect(m.wide, `${name}: elements outside panels wider than the screen`).toBe(0);
        await p.screenshot({ path: `${s.shotDir}/phone-${name}.png`, fullPage: true });
      }
    } finally {
      await phone.close();
    }
  }, 60_000);
});
