// The real api and worker processes on a database and queue prefix of their own, and Debian's
// Chromium (playwright-core) signed in with the workspace's admin key: what a browser test needs.
import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { DataSource } from 'typeorm';
import { WorkspaceRepository, dataSourceOptions } from '@kvplan/db';
import { migrate, recreateDatabase, testDatabaseUrl } from '@kvplan/migrations';

export const repoRoot = path.resolve(__dirname, '..', '..', '..', '..');
export const artifacts = path.join(repoRoot, 'test-artifacts', 'dashboard');
const CHROMIUM = process.env.KVPLAN_CHROMIUM ?? '/usr/bin/chromium';
const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-quic',
  '--no-first-run',
  '--disable-component-update',
  '--disable-sync',
];

export interface Stack {
  base: string;
  ds: DataSource;
  storage: string;
  /** Where screenshots go. */
  shotDir: string;
  workspaceId: string;
  keys: { admin: string; viewer: string };
  browser: Browser;
  page: Page;
  /** A JSON call with the admin key; throws on a non-2xx answer, naming it. */
  call<T = Record<string, unknown>>(method: string, url: string, body?: unknown): Promise<T>;
  /** Opens a route of the dashboard and waits until it has loaded. */
  open(hash: string): Promise<void>;
  shot(name: string): Promise<void>;
  stop(): Promise<void>;
}

export function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const srv = net.createServer().listen(0, '127.0.0.1', () => {
      const port = (srv.address() as net.AddressInfo).port;
      srv.close(() => resolve(port));
    });
  });
}

export async function until<T>(
  what: string,
  fn: () => Promise<T | undefined>,
  timeoutMs = 60_000,
): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn().catch(() => undefined);
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** Debian's Chromium (playwright-core downloads none here), headless; names the fix when missing. */
export function launchChromium(): Promise<Browser> {
  if (!fs.existsSync(CHROMIUM))
    throw new Error(`no Chromium at ${CHROMIUM}: apt-get install -y chromium (.ci/run does it)`);
  return chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS, headless: true });
}

/**
 * `node -r @swc-node/register src/main.ts` of apps/api or apps/worker with `env` over this
 * process's environment; its stderr is echoed with the app's name, and each stdout line goes to
 * `onLine` when given (else stdout is dropped).
 */
export function startApp(
  app: 'api' | 'worker',
  env: Record<string, string>,
  onLine?: (line: string) => void,
): ChildProcess {
  const child = spawn(process.execPath, ['-r', '@swc-node/register', 'src/main.ts'], {
    cwd: path.join(repoRoot, 'apps', app),
    env: { ...process.env, ...env },
    stdio: ['ignore', onLine ? 'pipe' : 'ignore', 'pipe'],
  });
  if (onLine) {
    let rest = '';
    child.stdout!.on('data', (d: Buffer) => {
      const parts = (rest + d.toString()).split('\n');
      rest = parts.pop() ?? '';
      parts.filter(Boolean).forEach(onLine);
    });
  }
  child.stderr!.on('data', (d: Buffer) => process.stderr.write(`[${app}] ${d}`));
  return child;
}

/** Opens a route of the dashboard and waits until its page has loaded (the same hash re-renders). */
export async function openRoute(page: Page, hash: string): Promise<void> {
  // Forget the previous page's "loaded" first.
  await page.evaluate((h) => {
    delete document.body.dataset.loaded;
    if (location.hash === h) window.dispatchEvent(new HashChangeEvent('hashchange'));
    else location.hash = h;
  }, hash);
  await page.waitForFunction(() => document.body.dataset.loaded === 'true', undefined, { timeout: 30_000 });
}

export async function startStack(name: string): Promise<Stack> {
  const launching = launchChromium();
  fs.mkdirSync(artifacts, { recursive: true });
  const dbUrl = testDatabaseUrl(`kvplan_test_${name}`);
  const storage = fs.mkdtempSync(path.join(os.tmpdir(), `kvplan-${name}-`));
  await recreateDatabase(dbUrl);
  await migrate(dbUrl);
  const ds = await new DataSource(dataSourceOptions({ url: dbUrl, poolSize: 2 })).initialize();
  const ws = new WorkspaceRepository(ds);
  const a = await ws.createWorkspaceWithAdminKey(`${name}-team`);
  const keys = { admin: a.secret, viewer: (await ws.createKey(a.workspace.id, 'viewer', 'viewer')).secret };
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const env = {
    DATABASE_URL: dbUrl,
    REDIS_URL: process.env.KVPLAN_TEST_REDIS ?? 'redis://127.0.0.1:6379',
    QUEUE_PREFIX: `kvtest-${name}-${process.pid}`,
    STORAGE_DIR: storage,
    LOG_LEVEL: 'warn',
  };
  const children = [
    startApp('api', { ...env, PORT: String(port), HOST: '127.0.0.1', AUTH_CACHE_TTL_MS: '0' }),
    startApp('worker', { ...env, STALLED_INTERVAL_MS: '1000', LOCK_DURATION_MS: '2000' }),
  ];
  await until('api ready', async () => ((await fetch(`${base}/ready`)).ok ? true : undefined), 90_000);
  const browser = await launching;
  const context = await browser.newContext({
    viewport: { width: 1440, height: 900 },
    deviceScaleFactor: 1,
    acceptDownloads: true,
  });
  const page = await context.newPage();
  page.on('pageerror', (e) => process.stderr.write(`[page] ${e.message}\n`));
  await page.goto(`${base}/`);
  await page.fill('#api-key', keys.admin);
  await page.click('#login-form button');
  await page.waitForFunction(() => document.body.dataset.loaded === 'true');

  return {
    base,
    ds,
    storage,
    shotDir: artifacts,
    workspaceId: a.workspace.id,
    keys,
    browser,
    page,
    async call<T>(method: string, url: string, body?: unknown): Promise<T> {
      const res = await fetch(base + url, {
        method,
        headers: { authorization: `Bearer ${keys.admin}`, 'content-type': 'application/json' },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      const json = (await res.json()) as T;
      if (!res.ok) throw new Error(`${method} ${url}: ${res.status} ${JSON.stringify(json)}`);
      return json;
    },
    open: (hash: string) => openRoute(page, hash),
    async shot(file: string) {
      await page.screenshot({ path: path.join(artifacts, `${file}.png`), fullPage: true });
    },
    async stop() {
      await browser.close();
      for (const c of children) c.kill('SIGTERM');
      await ds.destroy();
      fs.rmSync(storage, { recursive: true, force: true });
    },
  };
}
