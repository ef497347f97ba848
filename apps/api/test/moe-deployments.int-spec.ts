// Deployment shapes through the api: data and expert parallelism and the topology are stored
// with a deployment, and a shape that cannot be deployed is a 400 naming its field. (The api
// in-process against the real PostgreSQL and Redis.)
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inProcessApi, type InProcessApi } from './support/in-process';

let api: InProcessApi;
let app: InProcessApi['app'];
let key = '';

beforeAll(async () => {
  api = await inProcessApi('moeshapes');
  ({ app, key } = api);
}, 90_000);

afterAll(async () => {
  await api?.close();
});

async function call(method: 'GET' | 'POST', url: string, body?: unknown) {
  const res = await app.inject({
    method,
    url,
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
    ...(body === undefined ? {} : { payload: JSON.stringify(body) }),
  });
  return { status: res.statusCode, text: res.body, json: res.json() as Record<string, unknown> };
}

const moe = (extra: Record<string, unknown>) => ({
  name: 'qwen3-moe',
  model: 'Qwen/Qwen3-30B-A3B',
  gpu: 'h100-sxm',
  engine: { maxModelLen: 8192 },
  ...extra,
});
const paths = (r: { json: Record<string, unknown> }) =>
  ((r.json.issues as Array<{ path: string }> | undefined) ?? []).map((i) => i.path);

describe('deployment shapes', () => {
  it('stores an expert-parallel MoE deployment with its topology', async () => {
    const shape = {
      tensorParallel: 1,
      dataParallel: 8,
      expertParallel: true,
      moe: { loadImbalance: 1.2 },
      topology: { fabric: 'nvlink4', nodes: 1 },
    };
    const r = await call('POST', '/api/v1/deployments', moe(shape));
    expect(r.status, r.text).toBe(201);
    const read = await call('GET', `/api/v1/deployments/${String(r.json.id)}`);
    expect(read.status).toBe(200);
    expect(read.json).toMatchObject(shape);
  });

  it('answers 400 naming the field: experts not divisible, unknown fabric, more GPUs than the topology, bounds', async () => {
    const ep = await call('POST', '/api/v1/deployments', moe({ dataParallel: 3, expertParallel: true }));
    expect(ep.status, ep.text).toBe(400);
    expect(paths(ep)).toEqual(['expertParallel']);
    expect(ep.text).toMatch(/128 experts/);

    const fabric = await call('POST', '/api/v1/deployments', moe({ topology: { fabric: 'infiniband-x' } }));
    expect(fabric.status).toBe(400);
    expect(paths(fabric)).toEqual(['topology.fabric']);

    const gpus = await call(
      'POST',
      '/api/v1/deployments',
      moe({ tensorParallel: 4, dataParallel: 4, topology: { nodes: 1 } }),
    );
    expect(gpus.status).toBe(400);
    expect(paths(gpus)).toEqual(['dataParallel']);
    expect(gpus.text).toMatch(/16 GPUs/);

    const big = await call('POST', '/api/v1/deployments', moe({ dataParallel: 100 }));
    expect(big.status).toBe(400);
    expect(big.text).toMatch(/dataParallel/);
    expect(big.text).not.toMatch(/stack|Error:/);
  });
});
