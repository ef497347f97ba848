// Malformed and abusive requests over every operation of the OpenAPI document: deep nesting, NUL
// and other unstorable text, huge numbers, wrong types, unknown keys, bad uploads, bad keys. No
// answer may be a 5xx, and no bad request may change a stored row. (The api in-process against
// the real PostgreSQL and Redis.)
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DataSource } from 'typeorm';
import { ENTITIES } from '@kvplan/db';
import { inProcessApi, type InProcessApi } from './support/in-process';

let api: InProcessApi;
let ds: DataSource;
let app: InProcessApi['app'];
const keys = { admin: '', viewer: '', other: '' };
let tables: string[] = [];

interface Operation {
  method: string;
  path: string;
  query: string[];
  body: Record<string, { type?: string; nullable?: boolean }> | null;
  stream: string | null;
  isPublic: boolean;
}
let operations: Operation[] = [];

/** The stored rows of every table, as one fingerprint (count and newest row version per table). */
async function fingerprint(): Promise<string> {
  const parts = tables.map(
    (t) => `(SELECT count(*)::text || ':' || coalesce(max(xmin::text::bigint), 0)::text FROM "${t}")`,
  );
  const row = (await ds.query(`SELECT ${parts.join(` || ',' || `)} AS f`)) as Array<{ f: string }>;
  return row[0].f;
}

beforeAll(async () => {
  api = await inProcessApi('fuzz', {
    RATE_LIMIT_MAX: '0',
    RECONCILE_INTERVAL_MS: '0',
    UPLOAD_LIMIT_BYTES: String(256 * 1024),
    DOCS: 'true',
    OPERATOR_KEY: OPERATOR,
  });
  ({ app, ds } = api);
  tables = ENTITIES.map((e) => ds.getMetadata(e).tableName).filter((t) => t !== 'idempotency_keys');
  keys.admin = api.key;
  keys.viewer = (await api.workspaces.createKey(api.workspaceId, 'v', 'viewer')).secret;
  keys.other = (await api.workspaces.createWorkspaceWithAdminKey('B')).secret;

  const doc = (await app.inject({ method: 'GET', url: '/docs/openapi.json' })).json() as {
    paths: Record<string, Record<string, OpenApiOp>>;
    components: {
      schemas: Record<string, { properties?: Record<string, { type?: string; nullable?: boolean }> }>;
    };
  };
  for (const [p, ops] of Object.entries(doc.paths)) {
    for (const [method, op] of Object.entries(ops)) {
      const content = op.requestBody?.content ?? {};
      const ref = content['application/json']?.schema?.$ref;
      const schema = ref ? doc.components.schemas[ref.split('/').pop()!] : null;
      operations.push({
        method: method.toUpperCase(),
        path: p,
        query: (op.parameters ?? []).filter((x) => x.in === 'query').map((x) => x.name),
        body: schema ? (schema.properties ?? {}) : content['application/json'] ? {} : null,
        stream: Object.keys(content).find((c) => c !== 'application/json') ?? null,
        isPublic: !op.security,
      });
    }
  }
  operations = operations.filter((o) => !o.path.startsWith('/docs'));
}, 120_000);

afterAll(async () => {
  await api?.close();
});

interface OpenApiOp {
  parameters?: Array<{ in: string; name: string }>;
  requestBody?: { content?: Record<string, { schema?: { $ref?: string } }> };
  security?: unknown;
}

const OPERATOR = 'operator-key-of-the-fuzz-suite-0123456789';
const RANDOM_ID = '3f1c2a9e-8d4b-4c1e-9f2a-0b6d7e8f9a10';
const BAD_IDS = [
  'x',
  '0',
  '-1',
  '99999999999999999999',
  '1e400',
  '%00',
  'a%00b',
  '..%2F..%2Fetc%2Fpasswd',
  `${RANDOM_ID}%00`,
  '%F0%9F%92%A9',
];
const BAD_QUERY_VALUES = [
  'abc',
  '-1',
  '99999999999999999999',
  '1e400',
  'NaN',
  '%00',
  'x%00y',
  '%ED%A0%80',
  '1.5',
  '',
];
const deep = (n: number) => '['.repeat(n) + ']'.repeat(n);
const deepObj = (n: number) => '{"a":'.repeat(n) + '1' + '}'.repeat(n);
function manyKeys(n: number): string {
  const parts: string[] = [];
  for (let i = 0; i < n; i++) parts.push(`"k${i}":${i}`);
  return `{${parts.join(',')}}`;
}
const WRONG_VALUES: unknown[] = [
  'a\u0000b',
  '\u0007bell',
  '\ud800',
  1e308,
  -1e308,
  99999999999999999999,
  -1,
  0.5,
  true,
  null,
  [],
  {},
  [[[[[[1]]]]]],
  'x'.repeat(100_000),
  { $gt: '' },
];

/** The operation's path (the document's paths carry the global prefix) with `id` for every parameter. */
const concrete = (p: string, id: string): string => p.replace(/\{[^}]+\}/g, id);

const seen = { requests: 0, byStatus: new Map<number, number>() };

async function send(
  method: string,
  urlPath: string,
  opts: {
    key?: string | null;
    payload?: string | Buffer;
    type?: string;
    headers?: Record<string, string>;
  } = {},
): Promise<number> {
  const headers: Record<string, string> = { ...opts.headers };
  // POST /workspaces takes the operator key, every other route a workspace's key.
  const own = method === 'POST' && urlPath === '/api/v1/workspaces' ? OPERATOR : keys.admin;
  const key = opts.key === undefined ? own : opts.key;
  if (key) headers.authorization = `Bearer ${key}`;
  if (opts.payload !== undefined) headers['content-type'] = opts.type ?? 'application/json';
  const before = await fingerprint();
  const res = await app.inject({ method: method as 'GET', url: urlPath, headers, payload: opts.payload });
  seen.requests++;
  seen.byStatus.set(res.statusCode, (seen.byStatus.get(res.statusCode) ?? 0) + 1);
  const sent = opts.payload === undefined ? '' : ` with ${String(opts.payload).slice(0, 60)}`;
  expect(
    res.statusCode,
    `${method} ${urlPath.slice(0, 200)}${sent} -> ${res.statusCode} ${res.body.slice(0, 300)}`,
  ).toBeLessThan(500);
  expect(res.body).not.toMatch(/at .+\.ts:\d+|node_modules|\/work\/|\/home\//);
  if (res.statusCode >= 400)
    expect(await fingerprint(), `${method} ${urlPath.slice(0, 120)} changed stored rows`).toBe(before);
  return res.statusCode;
}

/** A safetensors file with the given header (JSON text) and data bytes. */
function safetensors(headerJson: string, data = Buffer.alloc(0), declaredLength?: bigint): Buffer {
  const json = Buffer.from(headerJson);
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(declaredLength ?? BigInt(json.length));
  return Buffer.concat([len, json, data]);
}
const kvMeta = (meta: Record<string, string>, tensors: Record<string, unknown> = {}) =>
  JSON.stringify({ __metadata__: meta, ...tensors });
const goodMeta = { format: 'kvplan-kv/1', block_size: '16', seq_lens: '[16]' };
const tensor = (offsets: [number | string, number | string]) => ({
  dtype: 'F32',
  shape: [1, 1, 16, 1, 4],
  data_offsets: offsets,
});

describe('fuzz over the OpenAPI document', () => {
  it('finds every operation', () => {
    expect(operations.length).toBeGreaterThanOrEqual(40);
    // The preset reads, with their query parameters, are fuzzed like every other operation.
    for (const p of ['/api/v1/models', '/api/v1/gpus'])
      expect(operations.find((o) => o.method === 'GET' && o.path === p)?.query).toContain('limit');
  });

  it('bad path parameters and query values: 4xx, no row changed', async () => {
    for (const op of operations) {
      if (op.path.includes('{'))
        for (const id of BAD_IDS) {
          const status = await send(op.method, concrete(op.path, id), {
            payload: op.body ? '{}' : undefined,
          });
          expect(status).toBeGreaterThanOrEqual(400);
        }
      for (const q of op.query)
        for (const v of BAD_QUERY_VALUES) {
          const target = `${concrete(op.path, RANDOM_ID)}?${q}=${v}`;
          await send(op.method, target, { payload: op.body ? '{}' : undefined });
        }
    }
  }, 240_000);

  it('malformed JSON bodies: nesting, many keys, wrong JSON, NUL, wrong types, unknown keys: 400', async () => {
    const bodies = operations.filter((o) => o.body !== null);
    expect(bodies.length).toBeGreaterThan(10);
    for (const op of bodies) {
      const target = concrete(op.path, RANDOM_ID);
      const whole = [
        deep(5000),
        deepObj(5000),
        deep(40),
        manyKeys(60_000),
        '{"a":',
        'null',
        '[]',
        '"str"',
        '1e999',
        '{"__proto__":{"x":1}}',
        '{"name":"a\\u0000b"}',
      ];
      for (const payload of whole)
        expect(await send(op.method, target, { payload }), `${op.method} ${op.path}`).toBe(400);
      for (const [field, schema] of Object.entries(op.body!))
        for (const v of WRONG_VALUES.filter((x) => !(x === null && schema.nullable))) {
          const status = await send(op.method, target, { payload: JSON.stringify({ [field]: v }) });
          expect(
            status,
            `${op.method} ${op.path} ${field}=${JSON.stringify(v).slice(0, 40)}`,
          ).toBeGreaterThanOrEqual(400);
        }
      expect(await send(op.method, target, { payload: JSON.stringify({ unknownKey: 1 }) })).toBe(400);
    }
  }, 240_000);

  it('bad keys: missing, malformed, unknown, another role: 401/403, no row changed', async () => {
    for (const op of operations.filter((o) => !o.isPublic)) {
      const target = concrete(op.path, RANDOM_ID);
      for (const key of [null, 'x', 'kvp_' + 'A'.repeat(5000), 'Bearer', keys.admin + 'x'])
        expect(
          await send(op.method, target, { key, payload: op.body ? '{}' : undefined }),
          `${op.method} ${op.path} key=${String(key).slice(0, 20)}`,
        ).toBeGreaterThanOrEqual(401);
    }
    const planner = operations.filter((o) => ['POST', 'PATCH', 'DELETE'].includes(o.method) && !o.isPublic);
    for (const op of planner) {
      const status = await send(op.method, concrete(op.path, RANDOM_ID), {
        key: keys.viewer,
        payload: op.body ? '{}' : undefined,
      });
      expect([400, 401, 403, 404, 415]).toContain(status);
    }
  }, 120_000);

  it('bad trace uploads are refused with 400', async () => {
    const traces = [
      Buffer.from('not,a,trace\n1,2,3\n'),
      Buffer.from('arrival_time_s,input_tokens,output_tokens\n0,\u0000,1\n'),
      Buffer.from('arrival_time_s,input_tokens,output_tokens\n0,99999999999999999999,1\n'),
      Buffer.from('arrival_time_s,input_tokens,output_tokens\n-1,1,1\n'),
      Buffer.from([0xff, 0xfe, 0x00, 0x00]),
      Buffer.alloc(0),
    ];
    for (const t of traces)
      expect(await send('POST', '/api/v1/traces', { payload: t, type: 'text/csv' })).toBe(400);
  }, 60_000);

  it('sent at least 1,000 malformed requests, none answered with a 5xx', () => {
    expect(seen.requests).toBeGreaterThanOrEqual(1000);
    console.log(
      `fuzz: ${seen.requests} requests, by status ${JSON.stringify(Object.fromEntries(seen.byStatus))}`,
    );
    for (const status of seen.byStatus.keys()) expect(status).toBeLessThan(500);
  });

  // The upload is checked by libs/core's kvplan-kv/1 validator, the one the fusion job reads with.
  it('bad KV sample uploads are refused with 400', async () => {
    const kv = [
      Buffer.from('short'),
      safetensors('null'),
      safetensors('[]'),
      safetensors('"x"'),
      safetensors(kvMeta({ ...goodMeta, format: 'kvplan-kv/1\u0000' })),
      safetensors(
        kvMeta(
          { ...goodMeta, block_size: '0' },
          { 'layers.0.key': tensor([0, 256]), 'layers.0.value': tensor([256, 512]) },
        ),
        Buffer.alloc(512),
      ),
      safetensors(
        kvMeta(goodMeta, { 'layers.0.key': tensor([0, 256]), 'layers.0.value': tensor([256, 512]) }),
        Buffer.alloc(100),
      ),
      safetensors(
        kvMeta(goodMeta, { 'layers.0.key': tensor([0, 1e12]), 'layers.0.value': tensor([1e12, 2e12]) }),
      ),
      safetensors('{}', Buffer.alloc(0), 2n ** 63n),
      safetensors(
        kvMeta(
          { ...goodMeta, seq_lens: '[1e400]' },
          { 'layers.0.key': tensor([0, 256]), 'layers.0.value': tensor([256, 512]) },
        ),
        Buffer.alloc(512),
      ),
    ];
    for (const k of kv)
      expect(await send('POST', '/api/v1/kv-samples', { payload: k, type: 'application/octet-stream' })).toBe(
        400,
      );
  }, 60_000);
});

describe('a 650 KB body with 60,000 unknown keys', () => {
  it('is refused quickly and does not stall /health', async () => {
    const body = manyKeys(60_000);
    expect(body.length).toBeGreaterThan(600_000);
    const started = performance.now();
    const refused = app.inject({
      method: 'POST',
      url: '/api/v1/deployments',
      headers: { authorization: `Bearer ${keys.admin}`, 'content-type': 'application/json' },
      payload: body,
    });
    const health = app.inject({ method: 'GET', url: '/health' });
    const [r, h] = await Promise.all([refused, health]);
    const elapsed = performance.now() - started;
    expect(r.statusCode).toBe(400);
    expect(h.statusCode).toBe(200);
    expect(elapsed).toBeLessThan(500);
  });
});
