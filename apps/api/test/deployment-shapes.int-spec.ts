// Deployment shapes through the api: pipeline parallelism and CPU KV offload are stored with a
// deployment, and bad ones are refused with 400 naming the field (the api in-process against the
// real PostgreSQL and Redis).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inProcessApi, type InProcessApi } from './support/in-process';

let api: InProcessApi;

beforeAll(async () => {
  api = await inProcessApi('shapes');
}, 90_000);

afterAll(async () => {
  await api?.close();
});

async function post(body: Record<string, unknown>) {
  const res = await api.app.inject({
    method: 'POST',
    url: '/api/v1/deployments',
    headers: { authorization: `Bearer ${api.key}`, 'content-type': 'application/json' },
    payload: JSON.stringify({ name: 'd', model: 'meta-llama/Llama-2-70b-hf', gpu: 'h100-sxm', ...body }),
  });
  const json = res.json() as {
    issues?: Array<{ path: string; message: string }>;
    spec?: Record<string, unknown>;
  };
  return { status: res.statusCode, json };
}

describe('deployment shapes', () => {
  it('stores TP4 x PP2 with 8 GiB of CPU KV offload', async () => {
    const r = await post({ tensorParallel: 4, pipelineParallel: 2, kvOffload: { cpuGiB: 8 } });
    expect(r.status).toBe(201);
    expect(r.json).toMatchObject({ tensorParallel: 4, pipelineParallel: 2, kvOffload: { cpuGiB: 8 } });
  });

  it('refuses a pipeline degree that does not divide the layers, and a pool larger than the host memory', async () => {
    const pp = await post({ tensorParallel: 4, pipelineParallel: 3 });
    expect(pp.status).toBe(400);
    expect(pp.json.issues!.map((i) => i.path)).toEqual(['pipelineParallel']);
    expect(pp.json.issues![0].message).toMatch(/does not divide the model's 80 layers/);
    const off = await post({ tensorParallel: 4, kvOffload: { cpuGiB: 4096 } });
    expect(off.status).toBe(400);
    expect(off.json.issues!.map((i) => i.path)).toEqual(['kvOffload.cpuGiB']);
    const big = await post({ tensorParallel: 4, pipelineParallel: 100 });
    expect(big.status).toBe(400);
    expect(big.json.issues!.map((i) => i.path)).toContain('pipelineParallel');
  });
});
