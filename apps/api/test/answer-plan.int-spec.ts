// Capacity plans in mode answer (the api in-process against the real PostgreSQL and Redis): the
// configurations it stores (deployment x TP x no fusion + thresholds), an unfit configuration kept
// as an infeasible point with its reason, and every kind of bad input answered 400 naming its field.
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inProcessApi, type InProcessApi } from './support/in-process';

let api: InProcessApi;
const ids = { profile: '', l4: '', h100: '', big: '', noSlo: '', otherSlo: '', config: '' };

async function call(method: 'GET' | 'POST', url: string, body?: unknown) {
  const res = await api.app.inject({
    method,
    url,
    headers: { authorization: `Bearer ${api.key}`, 'content-type': 'application/json' },
    ...(body !== undefined && { payload: JSON.stringify(body) }),
  });
  return { status: res.statusCode, body: res.json() as Record<string, any> }; // eslint-disable-line @typescript-eslint/no-explicit-any -- response bodies are checked field by field
}

const created = async (url: string, body: unknown): Promise<string> => {
  const r = await call('POST', url, body);
  expect(r.status, JSON.stringify(r.body)).toBe(201);
  return r.body.id as string;
};

const slo = { ttftMs: { p99: 1500 } };
const deployment = (name: string, gpu: string, extra: Record<string, unknown> = {}) => ({
  name,
  model: 'meta-llama/Llama-3.1-8B',
  gpu,
  engine: { maxModelLen: 4096 },
  cost: { gpuHourUsd: 1 },
  slo,
  ...extra,
});

beforeAll(async () => {
  api = await inProcessApi('answer');
  ids.profile = await created('/api/v1/workload-profiles', {
    name: 'w',
    workload: {
      arrival: { process: 'poisson', rate: 4 },
      numRequests: 200,
      inputTokens: { fixed: 300 },
      outputTokens: { fixed: 40 },
    },
  });
  ids.l4 = await created('/api/v1/deployments', deployment('on l4', 'l4'));
  ids.h100 = await created('/api/v1/deployments', deployment('on h100', 'h100-sxm'));
  ids.big = await created(
    '/api/v1/deployments',
    deployment('70b on 4 l40s', 'l40s', { model: 'meta-llama/Llama-3.1-70B', tensorParallel: 4 }),
  );
  ids.noSlo = await created('/api/v1/deployments', deployment('no slo', 'l4', { slo: undefined }));
  ids.otherSlo = await created(
    '/api/v1/deployments',
    deployment('other slo', 'l4', { slo: { ttftMs: { p99: 900 } } }),
  );
  ids.config = await created('/api/v1/fusion-configs', {
    name: 'bff',
    mode: 'bff',
    thresholds: [0.75, 0.85],
  });
}, 90_000);

afterAll(async () => {
  await api?.close();
});

const plan = (body: Record<string, unknown>) =>
  call('POST', '/api/v1/capacity-plans', { mode: 'answer', workloadProfileId: ids.profile, ...body });

/** The issue paths of a 400 answer (and its messages, for the assertions that read them). */
async function refused(body: Record<string, unknown>): Promise<Array<{ path: string; message: string }>> {
  const r = await plan(body);
  expect(r.status, JSON.stringify(r.body)).toBe(400);
  return r.body.issues;
}

describe('capacity plans in mode answer', () => {
  it('stores deployment x TP x (no fusion + each threshold), with the profile, price and SLO each point runs with', async () => {
    const r = await plan({ deploymentIds: [ids.l4, ids.h100], fusionConfigId: ids.config, targetRate: 6 });
    expect(r.status, JSON.stringify(r.body)).toBe(202);
    expect(r.body.mode).toBe('answer');
    expect(r.body.slo).toEqual(slo);
    const points = r.body.points as Array<Record<string, unknown>>;
    expect(points.map((p) => [p.gpu, p.tensorParallel, p.threshold])).toEqual([
      ['l4', 1, null],
      ['l4', 1, 0.75],
      ['l4', 1, 0.85],
      ['h100-sxm', 1, null],
      ['h100-sxm', 1, 0.75],
      ['h100-sxm', 1, 0.85],
    ]);
    for (const p of points) {
      expect(p).toMatchObject({ targetRate: 6, fusionProfileId: null });
      expect(p.unfit).toBeUndefined();
      expect((p.deployment as Record<string, unknown>).cost).toEqual({ gpuHourUsd: 1 });
    }
    expect(points[0].deploymentId).toBe(ids.l4);
    expect(points[3]).toMatchObject({ deploymentId: ids.h100, deploymentName: 'on h100' });
    // The plan and its job are served like every capacity plan.
    const got = await call('GET', `/api/v1/capacity-plans/${r.body.id}`);
    expect(got.body).toMatchObject({ mode: 'answer', status: 'queued' });
  });

  it('keeps a TP degree the model cannot fit as an infeasible point with its reason', async () => {
    const r = await plan({ deploymentIds: [ids.big], tensorParallel: [1, 4] });
    expect(r.status, JSON.stringify(r.body)).toBe(202);
    const points = r.body.points as Array<Record<string, unknown>>;
    expect(points.map((p) => p.tensorParallel)).toEqual([1, 4]);
    expect(points[0].unfit).toMatch(/^model: does not fit: .*tensorParallel 1 on gpu l40s/);
    expect(points[1].unfit).toBeUndefined();
  });

  it('answers 400 naming the field for every kind of bad input', async () => {
    const paths = async (body: Record<string, unknown>) => (await refused(body)).map((i) => i.path);
    expect(await paths({})).toEqual(['deploymentIds']);
    expect(await paths({ deploymentId: ids.l4 })).toEqual(['deploymentId', 'deploymentIds']);
    expect(await paths({ deploymentIds: [] })).toContain('deploymentIds');
    expect(await paths({ deploymentIds: ['nope'] })).toContain('deploymentIds');
    expect(await paths({ deploymentIds: [ids.l4, ids.l4] })).toContain('deploymentIds');
    expect(await paths({ deploymentIds: [ids.l4, randomUUID()] })).toEqual(['deploymentIds[1]']);
    expect(await paths({ deploymentIds: [ids.l4], replicas: [1, 2] })).toEqual(['replicas']);
    expect(await paths({ deploymentIds: [ids.l4], rateScales: [1] })).toEqual(['rateScales']);
    expect(await paths({ deploymentIds: [ids.l4], thresholds: [0.8] })).toEqual(['thresholds']);
    expect(await paths({ deploymentIds: [ids.l4], targetRate: 0 })).toEqual(['targetRate']);
    expect(await paths({ deploymentIds: [ids.l4], tensorParallel: [0] })).toEqual(['tensorParallel']);
    expect(await paths({ deploymentIds: [ids.l4], fusionConfigId: randomUUID() })).toEqual([
      'fusionConfigId',
    ]);
    const tp = await refused({ deploymentIds: [ids.l4, ids.h100], tensorParallel: [1, 3] });
    expect(tp).toEqual([
      {
        path: 'tensorParallel',
        message: '3 on deployment "on l4": 3 does not divide the model\'s 32 attention heads',
      },
      {
        path: 'tensorParallel',
        message: '3 on deployment "on h100": 3 does not divide the model\'s 32 attention heads',
      },
    ]);
    const none = await refused({ deploymentIds: [ids.noSlo] });
    expect(none).toEqual([{ path: 'slo', message: expect.stringMatching(/needs an SLO/) }]);
    const differ = await refused({ deploymentIds: [ids.l4, ids.otherSlo] });
    expect(differ).toEqual([{ path: 'slo', message: expect.stringMatching(/SLOs differ/) }]);
    const badSlo = await refused({ deploymentIds: [ids.l4, ids.h100], slo: { ttftMs: { p99: -1 } } });
    expect(badSlo).toHaveLength(1);
    expect(badSlo[0].path).toMatch(/^slo\.ttftMs/);
    // The plan's own SLO settles both.
    expect(
      (await plan({ deploymentIds: [ids.l4, ids.otherSlo], slo: { ttftMs: { p99: 700 } } })).status,
    ).toBe(202);
    const many = await refused({
      deploymentIds: [ids.l4, ids.h100],
      fusionConfigId: ids.config,
      tensorParallel: [1, 2, 4, 8],
      thresholds: [0.4, 0.5, 0.6, 0.7, 0.8, 0.9],
    });
    expect(many).toEqual([
      { path: 'thresholds', message: expect.stringMatching(/^56 configurations .* more than the 48/) },
    ]);
  });

  it('keeps the answer-only fields out of the other modes', async () => {
    const r = await call('POST', '/api/v1/capacity-plans', {
      mode: 'max-rate',
      workloadProfileId: ids.profile,
      deploymentId: ids.l4,
      deploymentIds: [ids.h100],
      targetRate: 3,
    });
    expect(r.status).toBe(400);
    expect(r.body.issues.map((i: { path: string }) => i.path)).toEqual(['deploymentIds', 'targetRate']);
    const missing = await call('POST', '/api/v1/capacity-plans', {
      mode: 'min-gpus',
      workloadProfileId: ids.profile,
    });
    expect(missing.status).toBe(400);
    expect(missing.body.issues.map((i: { path: string }) => i.path)).toContain('deploymentId');
  });
});
