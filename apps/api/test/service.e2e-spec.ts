// End to end: the real api and worker processes against PostgreSQL and Redis.
import type { ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DataSource } from 'typeorm';
import { WorkspaceRepository, dataSourceOptions } from '@kvplan/db';
import { migrate, recreateDatabase, testDatabaseUrl } from '@kvplan/migrations';
import { freePort, startApp, until } from './support/processes';

const dbUrl = testDatabaseUrl('kvplan_test_e2e');
const prefix = `kvtest-e2e-${process.pid}`;
const storage = fs.mkdtempSync(path.join(os.tmpdir(), 'kvplan-e2e-'));
const UPLOAD_LIMIT = 64 * 1024;

let ds: DataSource;
let base = '';
let api: ChildProcess | undefined;
let worker: ChildProcess | undefined;
const keys: { adminA: string; viewerA: string; adminB: string } = { adminA: '', viewerA: '', adminB: '' };

const env = (extra: Record<string, string>): Record<string, string> => ({
  DATABASE_URL: dbUrl,
  REDIS_URL: process.env.KVPLAN_TEST_REDIS ?? 'redis://127.0.0.1:6379',
  QUEUE_PREFIX: prefix,
  STORAGE_DIR: storage,
  LOG_LEVEL: 'error',
  ...extra,
});

const start = (app: 'api' | 'worker', extra: Record<string, string>): ChildProcess =>
  startApp(app, env(extra));

const startWorker = () => start('worker', { STALLED_INTERVAL_MS: '1000', LOCK_DURATION_MS: '2000' });

async function call(
  method: string,
  url: string,
  key: string | null,
  body?: unknown,
  headers: Record<string, string> = {},
) {
  const h: Record<string, string> = { ...headers };
  if (key) h.authorization = `Bearer ${key}`;
  let payload: string | undefined;
  if (body !== undefined) {
    payload = typeof body === 'string' ? body : JSON.stringify(body);
    h['content-type'] ??= 'application/json';
  }
  const res = await fetch(base + url, { method, headers: h, body: payload });
  const text = await res.text();
  let json: any; // eslint-disable-line @typescript-eslint/no-explicit-any -- response bodies are checked field by field
  try {
    json = JSON.parse(text);
  } catch {
    json = text;
  }
  return { status: res.status, body: json, headers: res.headers };
}

/** A job of workspace A once it succeeded or failed. */
const waitJob = (jobId: string, timeoutMs = 90_000) =>
  until(
    `job ${jobId}`,
    async () => {
      const j = await call('GET', `/api/v1/jobs/${jobId}`, keys.adminA);
      return j.body.status === 'succeeded' || j.body.status === 'failed' ? j.body : undefined;
    },
    timeoutMs,
  );

const workload = (n: number, rate = 20) => ({
  arrival: { process: 'poisson', rate },
  numRequests: n,
  inputTokens: { lognormal: { median: 400, sigma: 0.5 } },
  outputTokens: { uniform: [20, 120] },
});

beforeAll(async () => {
  await recreateDatabase(dbUrl);
  await migrate(dbUrl);
  ds = await new DataSource(dataSourceOptions({ url: dbUrl, poolSize: 2 })).initialize();
  const ws = new WorkspaceRepository(ds);
  const a = await ws.createWorkspaceWithAdminKey('A');
  keys.adminA = a.secret;
  keys.viewerA = (await ws.createKey(a.workspace.id, 'viewer', 'viewer')).secret;
  keys.adminB = (await ws.createWorkspaceWithAdminKey('B')).secret;
  const port = await freePort();
  base = `http://127.0.0.1:${port}`;
  api = start('api', {
    PORT: String(port),
    HOST: '127.0.0.1',
    UPLOAD_LIMIT_BYTES: String(UPLOAD_LIMIT),
    AUTH_CACHE_TTL_MS: '0',
  });
  worker = startWorker();
  await until(
    'api ready',
    async () => ((await call('GET', '/ready', null)).status === 200 ? true : undefined),
    90_000,
  );
}, 120_000);

afterAll(async () => {
  api?.kill('SIGTERM');
  worker?.kill('SIGTERM');
  await ds?.destroy();
  fs.rmSync(storage, { recursive: true, force: true });
});

describe('auth and validation', () => {
  it('rejects missing and bad keys with 401, and a viewer writing with 403', async () => {
    expect((await call('GET', '/api/v1/deployments', null)).status).toBe(401);
    expect((await call('GET', '/api/v1/deployments', 'kvp_not-a-key')).status).toBe(401);
    const r = await call('POST', '/api/v1/deployments', keys.viewerA, {
      name: 'x',
      model: 'meta-llama/Llama-3.1-8B',
      gpu: 'h100-sxm',
    });
    expect(r.status).toBe(403);
  });

  it('answers malformed bodies, wrong types and unknown fields with 400 and field messages', async () => {
    const bad = await call('POST', '/api/v1/deployments', keys.adminA, '{"name":', {});
    expect(bad.status).toBe(400);
    expect(JSON.stringify(bad.body)).not.toMatch(/at .*\.ts:\d+/);
    const r = await call('POST', '/api/v1/deployments', keys.adminA, {
      name: 7,
      model: 'meta-llama/Llama-3.1-8B',
      gpu: 'h100-sxm',
      colour: 'red',
    });
    expect(r.status).toBe(400);
    const paths = r.body.issues.map((i: { path: string }) => i.path);
    expect(paths).toContain('name');
    expect(paths).toContain('colour');
    const domain = await call('POST', '/api/v1/deployments', keys.adminA, {
      name: 'd',
      model: 'meta-llama/Llama-3.1-8B',
      gpu: 'h100-sxm',
      engine: { blockSize: 1000 },
    });
    expect(domain.status).toBe(400);
    expect(domain.body.issues.map((i: { path: string }) => i.path)).toEqual(['engine.blockSize']);
    const wl = await call('POST', '/api/v1/workload-profiles', keys.adminA, {
      name: 'w',
      workload: { arrival: { rate: -1 }, numRequests: 'many' },
    });
    expect(wl.status).toBe(400);
    expect(wl.body.issues.length).toBeGreaterThanOrEqual(2);
    expect((await call('GET', '/api/v1/deployments?limit=1000', keys.adminA)).status).toBe(400);
    expect((await call('GET', '/api/v1/deployments/not-a-uuid', keys.adminA)).status).toBe(400);
  });

  it('limits uploads and reports the first bad trace lines', async () => {
    const big = 'arrival_time_s,input_tokens,output_tokens\n' + '0,1,1\n'.repeat(UPLOAD_LIMIT / 6 + 10);
    const tooBig = await call('POST', '/api/v1/traces', keys.adminA, big, { 'content-type': 'text/csv' });
    expect(tooBig.status).toBe(413);
    const badCsv = 'arrival_time_s,input_tokens,output_tokens\n0,10,5\n1,ten,5\n2,10,-1\n';
    const bad = await call('POST', '/api/v1/traces', keys.adminA, badCsv, { 'content-type': 'text/csv' });
    expect(bad.status).toBe(400);
    expect(bad.body.issues.map((i: { path: string }) => i.path).join(' ')).toMatch(
      /trace\.csv:3.*trace\.csv:4/,
    );
    const good = await call(
      'POST',
      '/api/v1/traces?name=t1',
      keys.adminA,
      'arrival_time_s,input_tokens,output_tokens,tenant\n0,100,20,a\n0.5,200,30,b\n',
      {
        'content-type': 'text/csv',
      },
    );
    expect(good.status).toBe(201);
    expect(good.body).toMatchObject({ numRequests: 2, tenants: ['a', 'b'] });
    expect(good.body.sha256).toMatch(/^[0-9a-f]{64}$/);
  });
});

describe('workspace isolation', () => {
  it('a key of workspace B cannot read, list, change or delete A rows', async () => {
    const created = await call('POST', '/api/v1/workload-profiles', keys.adminA, {
      name: 'secret-profile',
      workload: workload(10),
    });
    expect(created.status).toBe(201);
    const id = created.body.id;
    expect((await call('GET', `/api/v1/workload-profiles/${id}`, keys.adminB)).status).toBe(404);
    expect(
      (await call('PATCH', `/api/v1/workload-profiles/${id}`, keys.adminB, { name: 'mine' })).status,
    ).toBe(404);
    expect((await call('DELETE', `/api/v1/workload-profiles/${id}`, keys.adminB)).status).toBe(404);
    const list = await call('GET', '/api/v1/workload-profiles', keys.adminB);
    expect(list.body.items.map((p: { id: string }) => p.id)).not.toContain(id);
    expect((await call('GET', `/api/v1/workload-profiles/${id}`, keys.viewerA)).body.name).toBe(
      'secret-profile',
    );
  });
});

describe('projections', () => {
  let deploymentId = '';
  let fusionConfigId = '';

  beforeAll(async () => {
    deploymentId = (
      await call('POST', '/api/v1/deployments', keys.adminA, {
        name: 'llama8b',
        model: 'meta-llama/Llama-3.1-8B',
        gpu: 'h100-sxm',
        slo: { ttftMs: { p99: 5000 } },
      })
    ).body.id;
    fusionConfigId = (
      await call('POST', '/api/v1/fusion-configs', keys.adminA, {
        name: 'bff',
        mode: 'bff',
        thresholds: [0.8, 0.9],
      })
    ).body.id;
  });

  it('creates a profile, queues a projection (202, idempotent), streams progress and reads the result', async () => {
    const profileId = (
      await call('POST', '/api/v1/workload-profiles', keys.adminA, { name: 'chat', workload: workload(300) })
    ).body.id;
    const req = { workloadProfileId: profileId, deploymentId, fusionConfigId };
    const first = await call('POST', '/api/v1/projections', keys.adminA, req, {
      'idempotency-key': 'proj-1',
    });
    expect(first.status).toBe(202);
    const again = await call('POST', '/api/v1/projections', keys.adminA, req, {
      'idempotency-key': 'proj-1',
    });
    expect(again.status).toBe(202);
    expect(again.body.id).toBe(first.body.id);
    const other = await call(
      'POST',
      '/api/v1/projections',
      keys.adminA,
      { ...req, seed: 5 },
      { 'idempotency-key': 'proj-1' },
    );
    expect(other.status).toBe(422);

    const token = await call('POST', `/api/v1/jobs/${first.body.job.id}/stream-token`, keys.adminA);
    expect(token.body.url).not.toContain(keys.adminA);
    const stream = await fetch(base + token.body.url);
    expect(stream.headers.get('content-type')).toMatch(/text\/event-stream/);
    const events = await stream.text(); // the stream ends after the terminal event
    expect(events).toMatch(/"status":"succeeded"/);
    expect((await fetch(base + token.body.url)).status).toBe(401); // single use

    const job = await waitJob(first.body.job.id);
    expect(job.status).toBe('succeeded');
    const p = await call('GET', `/api/v1/projections/${first.body.id}`, keys.adminA);
    expect(p.body.result.withoutFusion.completed).toBe(300);
    expect(p.body.result.withFusion.completed).toBe(300);
    expect(p.body.result.accuracy.source).toBe('none');
    expect(p.body.result.withoutFusion.p99_ttft_ms).toBeGreaterThan(0);
    const list = await call('GET', '/api/v1/projections', keys.adminA);
    expect(list.body.items.filter((x: { id: string }) => x.id === first.body.id)).toHaveLength(1);
    const csv = await call('GET', `/api/v1/projections/${first.body.id}/export?format=csv`, keys.adminA);
    expect(csv.body).toMatch(/^metric,without_fusion,with_fusion\n/);
    expect((await call('GET', `/api/v1/projections/${first.body.id}`, keys.adminB)).status).toBe(404);
  }, 90_000);

  it('a worker killed in the middle of a job, then restarted, leaves exactly one result', async () => {
    const profileId = (
      await call('POST', '/api/v1/workload-profiles', keys.adminA, {
        name: 'long',
        workload: workload(30000, 100),
      })
    ).body.id;
    const created = await call('POST', '/api/v1/projections', keys.adminA, {
      workloadProfileId: profileId,
      deploymentId,
    });
    const jobId = created.body.job.id;
    await until('job running', async () => {
      const j = await call('GET', `/api/v1/jobs/${jobId}`, keys.adminA);
      return j.body.status === 'running' && j.body.progress > 0 ? true : undefined;
    });
    worker!.kill('SIGKILL');
    await new Promise((r) => worker!.once('exit', r));
    expect((await call('GET', `/api/v1/jobs/${jobId}`, keys.adminA)).body.status).toBe('running');
    worker = startWorker();
    const job = await waitJob(jobId, 120_000);
    expect(job.status).toBe('succeeded');
    expect(job.attempts).toBe(2);
    const rows = await ds.query(
      'SELECT result IS NOT NULL AS has, result_at FROM projections WHERE id = $1',
      [created.body.id],
    );
    expect(rows).toHaveLength(1);
    expect(rows[0].has).toBe(true);
  }, 150_000);

  it('fans a capacity plan out as simulate children and aggregates them', async () => {
    const profileId = (
      await call('POST', '/api/v1/workload-profiles', keys.adminA, { name: 'cap', workload: workload(150) })
    ).body.id;
    const created = await call('POST', '/api/v1/capacity-plans', keys.adminA, {
      workloadProfileId: profileId,
      deploymentId,
      mode: 'max-rate',
      rateScales: [0.5, 1, 2],
    });
    expect(created.status).toBe(202);
    expect(created.body.fusionProfileId).toBeNull();
    const job = await waitJob(created.body.job.id);
    expect(job.status).toBe('succeeded');
    const plan = await call('GET', `/api/v1/capacity-plans/${created.body.id}`, keys.adminA);
    expect(plan.body.result.points).toHaveLength(3);
    expect(plan.body.result.answer).not.toBeNull();
  }, 90_000);
});

describe('operations', () => {
  it('serves metrics and the OpenAPI document', async () => {
    const m = await call('GET', '/metrics', null);
    expect(m.body).toMatch(/kvplan_http_request_duration_seconds_bucket/);
    expect(m.body).toMatch(/kvplan_jobs\{status="succeeded"\} [1-9]/);
    const doc = await call('GET', '/docs/openapi.json', null);
    expect(Object.keys(doc.body.paths)).toContain('/api/v1/projections');
  });
});

describe('fusion profiles', () => {
  // A small Llama shape (6 layers: 2 fused) keeps the synthetic fusion job to a second or two.
  const tinyModel = {
    model_type: 'llama',
    hidden_size: 64,
    intermediate_size: 128,
    num_attention_heads: 4,
    num_key_value_heads: 2,
    num_hidden_layers: 6,
    vocab_size: 256,
    max_position_embeddings: 4096,
  };
  it('builds a profile from synthetic KV (API -> worker -> stored profile) that projections then use', async () => {
    const post = async (p: string, body: unknown) =>
      (await call('POST', p, keys.adminA, body)).body.id as string;
    const deploymentId = await post('/api/v1/deployments', { name: 'tiny', model: tinyModel, gpu: 'l4' });
    const workloadProfileId = await post('/api/v1/workload-profiles', {
      name: 'fusion-chat',
      workload: workload(200),
    });
    const fusionConfigId = await post('/api/v1/fusion-configs', {
      name: 'bff-sweep',
      mode: 'bff',
      thresholds: [0.5, 0.9],
      batchSizes: [4, 8],
    });
    const req = { workloadProfileId, fusionConfigId, deploymentId, sampleSize: 8, maxPromptTokens: 128 };
    const first = await call('POST', '/api/v1/fusion-profiles', keys.adminA, req, {
      'idempotency-key': 'fp-1',
    });
    expect(first.status).toBe(202);
    expect(first.body).toMatchObject({ status: 'queued', source: null, profile: null });
    const again = await call('POST', '/api/v1/fusion-profiles', keys.adminA, req, {
      'idempotency-key': 'fp-1',
    });
    expect(again.status).toBe(202);
    expect(again.body.id).toBe(first.body.id);
    const job = await waitJob(first.body.job.id);
    expect(job.status).toBe('succeeded');

    const fp = await call('GET', `/api/v1/fusion-profiles/${first.body.id}`, keys.adminA);
    expect(fp.body.source).toBe('synthetic');
    expect(fp.body.profile).toMatchObject({
      format: 'kvplan-fusion-profile/1',
      source: 'synthetic',
      numLayers: 6,
    });
    expect(fp.body.profile.points.map((p: { batchSize: number }) => p.batchSize)).toEqual(
      expect.arrayContaining([4, 8]),
    );
    expect(fp.body.details.reasons.join(' ')).toMatch(/generator/);
    expect(fp.body.details.sample).toMatchObject({ size: 8, stratifiedBy: 'prompt length' });
    expect((await call('GET', `/api/v1/fusion-profiles/${first.body.id}`, keys.adminB)).status).toBe(404);
    const listed = await call(
      'GET',
      `/api/v1/fusion-profiles?workloadProfileId=${workloadProfileId}`,
      keys.adminA,
    );
    expect(listed.body.items.map((x: { id: string }) => x.id)).toEqual([first.body.id]);

    const proj = await call('POST', '/api/v1/projections', keys.adminA, {
      workloadProfileId,
      deploymentId,
      fusionConfigId,
      threshold: 0.5,
    });
    expect(proj.status).toBe(202);
    expect((await waitJob(proj.body.job.id)).status).toBe('succeeded');
    const p = await call('GET', `/api/v1/projections/${proj.body.id}`, keys.adminA);
    expect(p.body.result.fusion).toMatchObject({
      profileSource: 'synthetic',
      fusionProfileId: first.body.id,
    });
    expect(p.body.result.accuracy).toMatchObject({ source: 'proxy', threshold: 0.5 });
    expect(p.body.result.withFusion.completed).toBe(200);

    // A capacity plan over the same workload and fusion config simulates with that profile too.
    const plan = await call('POST', '/api/v1/capacity-plans', keys.adminA, {
      workloadProfileId,
      deploymentId,
      fusionConfigId,
      mode: 'pareto',
    });
    expect(plan.status).toBe(202);
    expect(plan.body.fusionProfileId).toBe(first.body.id);
    expect((await waitJob(plan.body.job.id)).status).toBe('succeeded');
    const done = await call('GET', `/api/v1/capacity-plans/${plan.body.id}`, keys.adminA);
    expect(done.body.fusionProfileId).toBe(first.body.id);
    expect(done.body.result.points).toHaveLength(3);
  }, 150_000);

  it('refuses batch sizes beyond what a fusion job samples, naming the field', async () => {
    const post = async (p: string, body: unknown) =>
      (await call('POST', p, keys.adminA, body)).body.id as string;
    const fusionConfigId = await post('/api/v1/fusion-configs', {
      name: 'huge',
      mode: 'bff',
      thresholds: [0.7],
      batchSizes: [512],
    });
    const workloadProfileId = await post('/api/v1/workload-profiles', { name: 'w', workload: workload(10) });
    const deploymentId = await post('/api/v1/deployments', {
      name: 'd',
      model: 'meta-llama/Llama-3.1-8B',
      gpu: 'h100-sxm',
    });
    const r = await call('POST', '/api/v1/fusion-profiles', keys.adminA, {
      workloadProfileId,
      fusionConfigId,
      deploymentId,
      sampleSize: 1,
    });
    expect(r.status).toBe(400);
    expect(r.body.issues.map((i: { path: string }) => i.path)).toEqual(['sampleSize']);
    const big = await call('POST', '/api/v1/fusion-profiles', keys.adminA, {
      workloadProfileId,
      fusionConfigId,
      deploymentId,
    });
    expect(big.status).toBe(400);
    expect(big.body.issues.map((i: { path: string }) => i.path)).toEqual(['fusionConfigId']);
  });
});
