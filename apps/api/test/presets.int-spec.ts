// GET /models and GET /gpus: libs/sim's preset tables, read-only, authenticated like every read,
// in the OpenAPI document, with their query checked (400 naming the field, never a 5xx).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listGpuPresets, listModelPresets } from '@kvplan/sim';
import { inProcessApi, type InProcessApi } from './support/in-process';

let api: InProcessApi;
let viewer = '';

beforeAll(async () => {
  api = await inProcessApi('presets', { RATE_LIMIT_MAX: '0', RECONCILE_INTERVAL_MS: '0', DOCS: 'true' });
  viewer = (await api.workspaces.createKey(api.workspaceId, 'v', 'viewer')).secret;
}, 90_000);

afterAll(async () => {
  await api?.close();
});

const get = (url: string, key: string | null = api.key) =>
  api.app.inject({
    method: 'GET',
    url: `/api/v1${url}`,
    headers: key ? { authorization: `Bearer ${key}` } : {},
  });

interface Page<T> {
  items: T[];
  total: number;
  limit: number;
  offset: number;
}

describe('model and GPU presets', () => {
  it('lists every model preset with its sizes and the TP degrees it allows', async () => {
    const res = await get('/models?limit=100', viewer);
    expect(res.statusCode).toBe(200);
    const page = res.json() as Page<{
      id: string;
      numHeads: number;
      numKvHeads: number;
      weightBytes: number;
      kvBytesPerToken: number;
      tensorParallelOptions: number[];
    }>;
    expect(page.total).toBe(listModelPresets().length);
    expect(page.items.map((m) => m.id)).toEqual(listModelPresets().map((m) => m.id));
    const llama8 = page.items.find((m) => m.id === 'meta-llama/Llama-3.1-8B')!;
    // 32 heads, 8 KV heads: 1..8 divide both; 16 is a multiple of the KV heads and divides the heads.
    expect(llama8.tensorParallelOptions).toEqual([1, 2, 4, 8, 16]);
    expect(llama8.weightBytes).toBeGreaterThan(15e9);
    expect(llama8.weightBytes).toBeLessThan(17e9);
    expect(llama8.kvBytesPerToken).toBe(32 * 2 * 8 * 128 * 2);
    for (const m of page.items) for (const tp of m.tensorParallelOptions) expect(m.numHeads % tp).toBe(0);
  });

  it('filters by a substring of the id, case-insensitively, and pages', async () => {
    const qwen = (await get('/models?name=QWEN')).json() as Page<{ id: string }>;
    const expected = listModelPresets()
      .map((m) => m.id)
      .filter((id) => id.startsWith('Qwen/'));
    expect(expected).toContain('Qwen/Qwen3-14B');
    expect(qwen.items.map((m) => m.id)).toEqual(expected);
    const second = (await get('/models?limit=1&offset=1')).json() as Page<{ id: string }>;
    expect(second.items.map((m) => m.id)).toEqual([listModelPresets()[1].id]);
    expect(second.total).toBe(listModelPresets().length);
  });

  it('lists the GPU presets with their engine defaults, filtered by memory', async () => {
    const all = (await get('/gpus?limit=100')).json() as Page<{ id: string; engineDefaults: object }>;
    expect(all.items.map((g) => g.id)).toEqual(listGpuPresets().map((g) => g.id));
    expect(all.items.find((g) => g.id === 'h100-sxm')!.engineDefaults).toEqual({
      maxNumSeqs: 1024,
      maxNumBatchedTokens: 8192,
    });
    const big = (await get('/gpus?minMemoryGiB=100&limit=100')).json() as Page<{
      id: string;
      memoryGiB: number;
    }>;
    expect(big.items.length).toBeGreaterThan(0);
    expect(big.items.every((g) => g.memoryGiB >= 100)).toBe(true);
    expect(big.items.map((g) => g.id)).not.toContain('l4');
  });

  it('answers 401 without a key', async () => {
    expect((await get('/models', null)).statusCode).toBe(401);
    expect((await get('/gpus', 'kvp_not-a-key')).statusCode).toBe(401);
  });

  it('refuses bad query input with 400 naming the field, never a 5xx', async () => {
    const cases: Array<[string, string]> = [
      ['/models?limit=0', 'limit'],
      ['/models?limit=abc', 'limit'],
      ['/models?offset=-1', 'offset'],
      ['/models?name=' + 'x'.repeat(300), 'name'],
      ['/models?unknown=1', 'unknown'],
      ['/gpus?minMemoryGiB=-5', 'minMemoryGiB'],
      ['/gpus?minMemoryGiB=1e400', 'minMemoryGiB'],
      ['/gpus?limit=1.5', 'limit'],
      ['/gpus?minMemoryGiB[$gt]=1', 'minMemoryGiB'],
    ];
    for (const [url, field] of cases) {
      const res = await get(url);
      expect(res.statusCode, url).toBe(400);
      expect(res.body, url).toContain(field);
      expect(res.body, url).not.toMatch(/\bat .+\.ts:\d+/);
    }
  });

  it('is in the OpenAPI document, authenticated, with its query parameters', async () => {
    const doc = (await api.app.inject({ method: 'GET', url: '/docs/openapi.json' })).json() as {
      paths: Record<string, Record<string, { security?: unknown; parameters?: Array<{ name: string }> }>>;
    };
    for (const [p, params] of [
      ['/api/v1/models', ['limit', 'offset', 'name']],
      ['/api/v1/gpus', ['limit', 'offset', 'name', 'minMemoryGiB']],
    ] as const) {
      const op = doc.paths[p]?.get;
      expect(op, p).toBeDefined();
      expect(op!.security).toBeDefined();
      expect(op!.parameters!.map((x) => x.name).sort()).toEqual([...params].sort());
    }
  });
});
