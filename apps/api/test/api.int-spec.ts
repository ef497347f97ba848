// The api in-process (Fastify inject) against the real PostgreSQL and Redis: KV sample uploads
// (kvplan-kv/1 header check, size limit, checksum), the per-key rate limit, and the read of a
// projection (JSON built by PostgreSQL, cached once finished).
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { DataSource } from 'typeorm';
import { synthesizeKvSample, writeKvSample } from '@kvplan/fusion';
import { JobRepository, ProjectionRepository, WorkspaceRepository, dataSourceOptions } from '@kvplan/db';
import { migrate, recreateDatabase, testDatabaseUrl } from '@kvplan/migrations';
import { createLogger } from '@kvplan/observability';
import { createApp } from '../src/app.factory';
import { loadApiConfig } from '../src/config/config';
import { projectionBody } from '../src/modules/projections/projections.dto';

const url = testDatabaseUrl('kvplan_test_api_limits');
const storage = fs.mkdtempSync(path.join(os.tmpdir(), 'kvplan-limits-'));
const UPLOAD_LIMIT = 64 * 1024;
const RATE_LIMIT = 8;

let ds: DataSource;
let app: NestFastifyApplication;
let wsA = '';
const keys: string[] = [];
let otherWorkspaceKey = '';

beforeAll(async () => {
  await recreateDatabase(url);
  await migrate(url);
  ds = await new DataSource(dataSourceOptions({ url, poolSize: 2 })).initialize();
  const repo = new WorkspaceRepository(ds);
  const a = await repo.createWorkspaceWithAdminKey('A');
  wsA = a.workspace.id;
  keys.push(a.secret);
  for (let i = 0; i < 4; i++) keys.push((await repo.createKey(wsA, `k${i}`, 'planner')).secret);
  otherWorkspaceKey = (await repo.createWorkspaceWithAdminKey('B')).secret;
  const config = loadApiConfig({
    DATABASE_URL: url,
    REDIS_URL: process.env.KVPLAN_TEST_REDIS ?? 'redis://127.0.0.1:6379',
    QUEUE_PREFIX: `kvtest-limits-${process.pid}`,
    STORAGE_DIR: storage,
    UPLOAD_LIMIT_BYTES: String(UPLOAD_LIMIT),
    RATE_LIMIT_MAX: String(RATE_LIMIT),
    // An hour-long window: the test's requests never straddle two windows.
    RATE_LIMIT_WINDOW_MS: '3600000',
    LOG_LEVEL: 'silent',
    DOCS: 'false',
  });
  app = await createApp(config, createLogger({ service: 'api', level: 'silent' }));
  await app.init();
  await app.getHttpAdapter().getInstance().ready();
}, 90_000);

afterAll(async () => {
  await app?.close();
  await ds?.destroy();
  fs.rmSync(storage, { recursive: true, force: true });
});

function upload(key: string, body: Buffer, query = '', type = 'application/octet-stream') {
  return app.inject({
    method: 'POST',
    url: `/api/v1/kv-samples${query}`,
    headers: { authorization: `Bearer ${key}`, 'content-type': type },
    payload: body,
  });
}

/** A safetensors file written here, independently of libs/fusion's writer. */
function safetensors(metadata: Record<string, string>, tensorNames: string[]): Buffer {
  const shape = [1, 1, 16, 1, 4];
  const bytes = 16 * 4 * 4;
  const header: Record<string, unknown> = { __metadata__: metadata };
  tensorNames.forEach((n, i) => {
    header[n] = { dtype: 'F32', shape, data_offsets: [i * bytes, (i + 1) * bytes] };
  });
  const json = Buffer.from(JSON.stringify(header));
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(json.length));
  return Buffer.concat([len, json, Buffer.alloc(tensorNames.length * bytes)]);
}

const kvFiles = () => {
  const d = path.join(storage, 'kv-samples', wsA);
  return fs.existsSync(d) ? fs.readdirSync(d) : [];
};

describe('KV sample upload', () => {
  it('stores a kvplan-kv/1 file with its size, SHA-256 checksum and metadata', async () => {
    const file = path.join(storage, 'sample.safetensors');
    writeKvSample(
      file,
      synthesizeKvSample({
        numSeqs: 2,
        blocksPerSeq: 2,
        numLayers: 2,
        blockSize: 16,
        numKvHeads: 1,
        headDim: 8,
        tenants: 2,
        seed: 3,
      }),
    );
    const bytes = fs.readFileSync(file);
    fs.rmSync(file);
    const r = await upload(keys[0], bytes, '?name=captured');
    expect(r.statusCode).toBe(201);
    const body = r.json();
    expect(body).toMatchObject({ name: 'captured', sizeBytes: bytes.length });
    expect(body.sha256).toBe(createHash('sha256').update(bytes).digest('hex'));
    expect(body.metadata).toMatchObject({ format: 'kvplan-kv/1', block_size: '16' });
    expect(JSON.parse(body.metadata.seq_lens)).toEqual([32, 32]);
    // the stored file is byte for byte the upload
    const stored = kvFiles().filter((f) => f.endsWith('.safetensors'));
    expect(stored).toHaveLength(1);
    const onDisk = fs.readFileSync(path.join(storage, 'kv-samples', wsA, stored[0]));
    expect(createHash('sha256').update(onDisk).digest('hex')).toBe(body.sha256);
    const list = await app.inject({
      method: 'GET',
      url: '/api/v1/kv-samples',
      headers: { authorization: `Bearer ${keys[0]}` },
    });
    expect(list.json().items.map((k: { id: string }) => k.id)).toEqual([body.id]);
  });

  it('refuses a file whose header is not kvplan-kv/1, naming each field, and keeps nothing', async () => {
    const before = kvFiles().length;
    const wrong = safetensors({ format: 'pt', block_size: 'sixteen', seq_lens: '[1, 2]' }, [
      'layers.0.key',
      'layers.0.value',
      'layers.2.key',
    ]);
    const r = await upload(keys[1], wrong);
    expect(r.statusCode).toBe(400);
    const paths = r.json().issues.map((i: { path: string }) => i.path);
    expect(paths).toEqual(
      expect.arrayContaining([
        'kv-sample.__metadata__.format',
        'kv-sample.__metadata__.block_size',
        'kv-sample.__metadata__.seq_lens',
        'kv-sample.layers',
      ]),
    );
    const garbage = await upload(keys[1], Buffer.from('arrival_time_s,input_tokens\n0,1\n'));
    expect(garbage.statusCode).toBe(400);
    expect(garbage.json().issues[0].message).toMatch(/not a safetensors file/);
    expect(kvFiles()).toHaveLength(before);
  });

  it('answers 413 past the upload limit without leaving a partial file', async () => {
    const before = kvFiles().length;
    const big = Buffer.alloc(UPLOAD_LIMIT + 1024, 1);
    const r = await upload(keys[1], big);
    expect(r.statusCode).toBe(413);
    expect(r.json().message).toMatch(new RegExp(`limit of ${UPLOAD_LIMIT} bytes`));
    expect(kvFiles()).toHaveLength(before);
    expect(kvFiles().some((f) => f.endsWith('.part'))).toBe(false);
  });

  it('refuses another content type (415) and a workload profile of another workspace (400)', async () => {
    const r = await upload(keys[2], Buffer.from('{}'), '', 'application/json');
    expect(r.statusCode).toBe(415);
    const other = await app.inject({
      method: 'POST',
      url: '/api/v1/workload-profiles',
      headers: { authorization: `Bearer ${otherWorkspaceKey}`, 'content-type': 'application/json' },
      payload: {
        name: 'b',
        workload: {
          arrival: { rate: 1 },
          numRequests: 5,
          inputTokens: { fixed: 10 },
          outputTokens: { fixed: 2 },
        },
      },
    });
    expect(other.statusCode).toBe(201);
    const denied = await upload(
      keys[2],
      safetensors({}, []),
      `?workloadProfileId=${other.json().id as string}`,
    );
    expect(denied.statusCode).toBe(400);
    expect(denied.json().issues).toEqual([
      { path: 'workloadProfileId', message: 'no workload profile with this id in your workspace' },
    ]);
  });
});

describe('rate limit', () => {
  it('answers 429 with Retry-After past RATE_LIMIT_MAX requests of one key; other keys are unaffected', async () => {
    const get = (key: string) =>
      app.inject({ method: 'GET', url: '/api/v1/deployments', headers: { authorization: `Bearer ${key}` } });
    const statuses: number[] = [];
    for (let i = 0; i < RATE_LIMIT + 2; i++) statuses.push((await get(keys[3])).statusCode);
    expect(statuses.slice(0, RATE_LIMIT)).toEqual(new Array(RATE_LIMIT).fill(200));
    expect(statuses.slice(RATE_LIMIT)).toEqual([429, 429]);
    const limited = await get(keys[3]);
    expect(limited.statusCode).toBe(429);
    expect(Number(limited.headers['retry-after'])).toBeGreaterThan(0);
    expect(limited.json().message).toMatch(new RegExp(`rate limit of ${RATE_LIMIT} requests`));
    // another key of the same workspace has its own budget; public routes are not limited
    expect((await get(keys[0])).statusCode).toBe(200);
    expect((await get(otherWorkspaceKey)).statusCode).toBe(200);
    expect((await app.inject({ method: 'GET', url: '/health' })).statusCode).toBe(200);
  });
});

describe('projection read', () => {
  it('answers with projectionBody of the row, byte for byte the same while cached once finished', async () => {
    const repo = new ProjectionRepository(ds);
    const jobs = new JobRepository(ds);
    const spec = { model: 'meta-llama/Llama-3.1-8B', gpu: 'h100-sxm', workload: { trace: 'traces/x.csv' } };
    const { projection, job } = await repo.createWithJob(wsA, {
      workloadProfileId: null,
      deploymentId: null,
      fusionConfigId: null,
      spec,
    });
    const get = (key: string) =>
      app.inject({
        method: 'GET',
        url: `/api/v1/projections/${projection.id}`,
        headers: { authorization: `Bearer ${key}` },
      });
    const read = async () => {
      const r = await get(keys[4]);
      expect(r.statusCode).toBe(200);
      expect(r.headers['content-type']).toMatch(/^application\/json/);
      return r.body;
    };
    const expected = async () =>
      JSON.parse(JSON.stringify(projectionBody((await repo.get(wsA, projection.id))!)));
    // queued, then running with progress: never cached, each read shows the row as it is
    expect(JSON.parse(await read())).toEqual(await expected());
    await jobs.markRunning(job.id);
    await jobs.setProgress(job.id, 0.25);
    const running = JSON.parse(await read());
    expect(running).toMatchObject({ status: 'running', job: { progress: 0.25, attempts: 1 } });
    expect(running).toEqual(await expected());
    // finished: the stored result (nested, with unicode and numbers) comes back as stored
    const result = {
      withoutFusion: { completed: 3, p99_ttft_ms: 12.5, note: 'é ✓' },
      charts: { cdf: [0, 0.5, 1] },
    };
    expect(await repo.saveResult(projection.id, job.id, result)).toBe(true);
    const controllerAnswer = await get(keys[4]);
    const first = controllerAnswer.body;
    expect(JSON.parse(first)).toEqual(await expected());
    expect(JSON.parse(first).result).toEqual(result);
    // a later change of the row is not seen while the finished document is cached; the cached
    // read (answered before Nest's pipeline) has the controller's headers
    await ds.query('UPDATE jobs SET attempts = 9 WHERE id = $1', [job.id]);
    const cachedAnswer = await get(keys[4]);
    expect(cachedAnswer.body).toBe(first);
    const headers = (r: typeof cachedAnswer) => {
      const { date: _d, 'x-request-id': id, ...rest } = r.headers;
      expect(id).toMatch(/\S/);
      return rest;
    };
    expect(headers(cachedAnswer)).toEqual(headers(controllerAnswer));
    // another workspace never gets it, cached or not; a wrong or missing key is refused as before
    expect((await get(otherWorkspaceKey)).statusCode).toBe(404);
    expect((await get(otherWorkspaceKey)).statusCode).toBe(404);
    expect((await get('not-a-key')).statusCode).toBe(401);
    const anonymous = await app.inject({ method: 'GET', url: `/api/v1/projections/${projection.id}` });
    expect(anonymous.statusCode).toBe(401);
    // cached reads count against the key's rate limit like any other request
    const viewer = (await new WorkspaceRepository(ds).createKey(wsA, 'reader', 'viewer')).secret;
    const statuses: number[] = [];
    for (let i = 0; i < RATE_LIMIT + 2; i++) statuses.push((await get(viewer)).statusCode);
    expect(statuses).toEqual([...new Array(RATE_LIMIT).fill(200), 429, 429]);
  });
});
