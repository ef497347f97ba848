// Dependencies failing, against real processes: the api and a worker on a Redis and a PostgreSQL
// of the test's own (never the shared ones). Redis stopped: 503 within 2 s, no write executed
// after the response; Redis restarted empty: queued runs re-enqueued and run, no restart needed.
// PostgreSQL stopped: 503 with Retry-After within 1 s, then recovery. Also: cancel and the work
// budget of a simulation.
import type { ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DataSource } from 'typeorm';
import { WorkspaceRepository, dataSourceOptions } from '@kvplan/db';
import { migrate } from '@kvplan/migrations';
import { TestPostgres, freePort, startApp, startRedis, stop, until } from './support/processes';

const storage = fs.mkdtempSync(path.join(os.tmpdir(), 'kvplan-outage-'));
let pg: TestPostgres;
let ds: DataSource;
let redis: ChildProcess | undefined;
let api: ChildProcess | undefined;
let worker: ChildProcess | undefined;
let redisPort = 0;
let base = '';
let key = '';
let env: Record<string, string> = {};

async function call(method: string, url: string, body?: unknown) {
  const started = performance.now();
  const res = await fetch(base + url, {
    method,
    headers: {
      authorization: `Bearer ${key}`,
      ...(body !== undefined && { 'content-type': 'application/json' }),
    },
    body: body === undefined ? undefined : JSON.stringify(body),
    signal: AbortSignal.timeout(10_000),
  });
  const text = await res.text();
  return {
    status: res.status,
    ms: performance.now() - started,
    retryAfter: res.headers.get('retry-after'),
    body: (text ? JSON.parse(text) : null) as Record<string, unknown>,
  };
}

const count = async (table: string) =>
  Number((await ds.query(`SELECT count(*)::int AS n FROM ${table}`))[0].n);
const job = async (id: string) => (await call('GET', `/api/v1/jobs/${id}`)).body;
const finished = (id: string, timeoutMs = 60_000) =>
  until(
    `job ${id}`,
    async () => {
      const j = await job(id);
      return j.status === 'succeeded' || j.status === 'failed' ? j : undefined;
    },
    timeoutMs,
  );

const workload = (n: number) => ({
  arrival: { process: 'poisson', rate: 20 },
  numRequests: n,
  inputTokens: { fixed: 64 },
  outputTokens: { fixed: 16 },
});
const ids = { profile: '', small: '', deployment: '' };

beforeAll(async () => {
  const pgPort = await freePort();
  pg = await TestPostgres.create(pgPort);
  await migrate(pg.url);
  ds = await new DataSource(dataSourceOptions({ url: pg.url, poolSize: 2 })).initialize();
  key = (await new WorkspaceRepository(ds).createWorkspaceWithAdminKey('A')).secret;
  redisPort = await freePort();
  redis = await startRedis(redisPort);
  const port = await freePort();
  base = `http://127.0.0.1:${port}`;
  env = {
    DATABASE_URL: pg.url,
    REDIS_URL: `redis://127.0.0.1:${redisPort}`,
    QUEUE_PREFIX: 'kvtest-outage',
    STORAGE_DIR: storage,
    LOG_LEVEL: 'fatal',
  };
  api = startApp('api', {
    ...env,
    PORT: String(port),
    HOST: '127.0.0.1',
    AUTH_CACHE_TTL_MS: '0',
    READ_CACHE_TTL_MS: '0',
    RECONCILE_INTERVAL_MS: '1000',
    RECONCILE_GRACE_MS: '300',
  });
  await until('api ready', async () => ((await fetch(`${base}/ready`)).ok ? true : undefined), 90_000);
  ids.profile = String(
    (await call('POST', '/api/v1/workload-profiles', { name: 'big', workload: workload(20_000) })).body.id,
  );
  ids.small = String(
    (await call('POST', '/api/v1/workload-profiles', { name: 'small', workload: workload(20) })).body.id,
  );
  const d = await call('POST', '/api/v1/deployments', {
    name: 'd',
    model: 'meta-llama/Llama-3.1-8B',
    gpu: 'h100-sxm',
  });
  ids.deployment = String(d.body.id);
}, 120_000);

afterAll(async () => {
  await stop(worker);
  await stop(api);
  await stop(redis);
  await ds?.destroy();
  await pg?.destroy();
  fs.rmSync(storage, { recursive: true, force: true });
});

describe('Redis stopped, then restarted empty', () => {
  it('answers 503 within 2 s, runs nothing late, re-enqueues queued runs and recovers', async () => {
    // Two runs queued while no worker runs; one is cancelled (idempotently) before the outage.
    const keep = await call('POST', '/api/v1/projections', {
      workloadProfileId: ids.small,
      deploymentId: ids.deployment,
    });
    const drop = await call('POST', '/api/v1/projections', {
      workloadProfileId: ids.small,
      deploymentId: ids.deployment,
    });
    expect([keep.status, drop.status]).toEqual([202, 202]);
    const dropJob = String((drop.body.job as { id: string }).id);
    const c1 = await call('POST', `/api/v1/jobs/${dropJob}/cancel`);
    const c2 = await call('POST', `/api/v1/jobs/${dropJob}/cancel`);
    expect([c1.status, c2.status]).toEqual([200, 200]);
    expect(c2.body).toMatchObject({ status: 'failed', error: 'cancelled' });

    await stop(redis, 'SIGKILL');
    const projections = await count('projections');
    const read = await call('GET', '/api/v1/deployments');
    expect(read.status).toBe(503);
    expect(read.retryAfter).toMatch(/^\d+$/);
    expect(read.ms).toBeLessThan(2000);
    const write = await call('POST', '/api/v1/projections', {
      workloadProfileId: ids.small,
      deploymentId: ids.deployment,
    });
    expect(write.status).toBe(503);
    expect(write.ms).toBeLessThan(2000);
    expect((await fetch(`${base}/health`)).status).toBe(200);
    expect((await fetch(`${base}/ready`)).status).toBe(503);

    redis = await startRedis(redisPort); // empty: the queued run's entry is gone
    await until(
      'api recovered',
      async () => ((await call('GET', '/api/v1/deployments')).status === 200 ? true : undefined),
      20_000,
    );
    await new Promise((r) => setTimeout(r, 1500));
    expect(await count('projections')).toBe(projections); // the refused POST never ran

    worker = startApp('worker', {
      ...env,
      SIM_MAX_EVENTS: '20000',
      STALLED_INTERVAL_MS: '1000',
      LOCK_DURATION_MS: '5000',
    });
    const done = await finished(String((keep.body.job as { id: string }).id), 90_000);
    expect(done.status).toBe('succeeded');
    expect(await job(dropJob)).toMatchObject({ status: 'failed', error: 'cancelled' });
  }, 180_000);

  it('fails a simulation over its work budget with a message saying so', async () => {
    const r = await call('POST', '/api/v1/projections', {
      workloadProfileId: ids.profile,
      deploymentId: ids.deployment,
    });
    expect(r.status).toBe(202);
    const done = await finished(String((r.body.job as { id: string }).id), 90_000);
    expect(done.status).toBe('failed');
    expect(String(done.error)).toMatch(/work budget of 20,000 simulator events/);
  }, 120_000);
});

describe('PostgreSQL stopped', () => {
  it('answers 503 with Retry-After within 1 s, and recovers without a restart', async () => {
    await pg.stop();
    try {
      const r = await call('GET', '/api/v1/deployments');
      expect(r.status).toBe(503);
      expect(r.retryAfter).toMatch(/^\d+$/);
      expect(r.ms).toBeLessThan(1000);
      const w = await call('POST', '/api/v1/deployments', {
        name: 'x',
        model: 'meta-llama/Llama-3.1-8B',
        gpu: 'h100-sxm',
      });
      expect(w.status).toBe(503);
      expect(w.ms).toBeLessThan(1000);
      const ready = await fetch(`${base}/ready`);
      expect(ready.status).toBe(503);
      expect(await ready.text()).not.toMatch(/127\.0\.0\.1|ECONNREFUSED|postgres:/);
    } finally {
      await pg.start();
    }
    await until(
      'api recovered',
      async () => ((await call('GET', '/api/v1/deployments')).status === 200 ? true : undefined),
      20_000,
    );
  }, 60_000);
});
