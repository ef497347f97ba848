// Data-layer tests against the real PostgreSQL, on a database migrated once (they live here, beside
// the migrations they need, so libs/db does not depend on this project).
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DataSource } from 'typeorm';
import {
  CapacityPlanRepository,
  IdempotencyRepository,
  JobRepository,
  ProjectionRepository,
  WorkloadProfileRepository,
  WorkspaceRepository,
  dataSourceOptions,
} from '@kvplan/db';
import { migrate, recreateDatabase, testDatabaseUrl } from '../src';

const url = testDatabaseUrl('kvplan_test_repositories');
let ds: DataSource;

beforeAll(async () => {
  await recreateDatabase(url);
  await migrate(url);
  ds = new DataSource(dataSourceOptions({ url, poolSize: 4 }));
  await ds.initialize();
});
afterAll(async () => {
  await ds?.destroy();
});

describe('workspaces and keys', () => {
  it('finds a key by its secret, never by its hash, and not once revoked', async () => {
    const ws = new WorkspaceRepository(ds);
    const { workspace, secret, key } = await ws.createWorkspaceWithAdminKey('acme');
    expect((await ws.findActiveKey(secret))?.workspaceId).toBe(workspace.id);
    expect(await ws.findActiveKey(key.keyHash)).toBeNull();
    expect(await ws.revokeKey(workspace.id, key.id)).toBe(true);
    expect(await ws.findActiveKey(secret)).toBeNull();
  });
});

describe('workspace isolation', () => {
  it('a workspace cannot read, list, change or delete another workspace rows', async () => {
    const wsRepo = new WorkspaceRepository(ds);
    const a = await wsRepo.createWorkspace('a');
    const b = await wsRepo.createWorkspace('b');
    const profiles = new WorkloadProfileRepository(ds);
    const pa = await profiles.create(a.id, { name: 'chat 100%', spec: { arrival: { rate: 1 } } });
    await profiles.create(a.id, { name: 'batch', spec: {} });
    expect(await profiles.get(b.id, pa.id)).toBeNull();
    expect((await profiles.list(b.id, { limit: 10, offset: 0 })).total).toBe(0);
    expect(await profiles.update(b.id, pa.id, { name: 'stolen' })).toBeNull();
    expect(await profiles.delete(b.id, pa.id)).toBe(false);
    expect((await profiles.get(a.id, pa.id))?.name).toBe('chat 100%');

    const page = await profiles.list(a.id, { limit: 1, offset: 0 });
    expect(page.total).toBe(2);
    expect(page.items).toHaveLength(1);
    // a literal % in the filter matches only itself
    expect(
      (await profiles.list(a.id, { limit: 10, offset: 0, nameContains: '100%' })).items.map((p) => p.id),
    ).toEqual([pa.id]);
    expect((await profiles.list(a.id, { limit: 10, offset: 0, nameContains: '%' })).total).toBe(1);
  });
});

describe('jobs and results', () => {
  it('walks queued -> running -> succeeded and writes one result when saved twice', async () => {
    const w = await new WorkspaceRepository(ds).createWorkspace('jobs');
    const projections = new ProjectionRepository(ds);
    const jobs = new JobRepository(ds);
    const { projection, job } = await projections.createWithJob(w.id, {
      workloadProfileId: null,
      deploymentId: null,
      fusionConfigId: null,
      spec: { model: 'm' },
    });
    expect(job.status).toBe('queued');
    expect(await jobs.markRunning(job.id)).toBe(true);
    await jobs.setProgress(job.id, 0.5);
    expect((await jobs.getById(job.id))?.progress).toBe(0.5);
    expect(await jobs.markRunning(job.id)).toBe(true); // a redelivery after a crash
    expect(await projections.saveResult(projection.id, job.id, { n: 1 })).toBe(true);
    expect(await projections.saveResult(projection.id, job.id, { n: 2 })).toBe(false);
    const done = await projections.get(w.id, projection.id);
    expect(done?.result).toEqual({ n: 1 });
    expect(done?.job?.status).toBe('succeeded');
    expect(done?.job?.attempts).toBe(2);
    expect(done?.job?.finishedAt).toBeInstanceOf(Date);
    expect(await jobs.markRunning(job.id)).toBe(false); // finished jobs are not reopened
    await jobs.markFailed(job.id, 'late failure');
    expect((await jobs.getById(job.id))?.status).toBe('succeeded');
  });

  it('stores each capacity point once', async () => {
    const w = await new WorkspaceRepository(ds).createWorkspace('cap');
    const plans = new CapacityPlanRepository(ds);
    const { plan } = await plans.createWithJob(w.id, {
      mode: 'max-rate',
      spec: {},
      points: [{ rate: 1 }, { rate: 2 }],
      slo: null,
      fusionProfileId: null,
    });
    expect(await plans.savePoint(plan.id, 0, { ok: 1 })).toBe(true);
    expect(await plans.savePoint(plan.id, 0, { ok: 2 })).toBe(false);
    expect(await plans.savePoint(plan.id, 1, { ok: 3 })).toBe(true);
    expect((await plans.listPoints(plan.id)).map((p) => p.result)).toEqual([{ ok: 1 }, { ok: 3 }]);
  });
});

describe('idempotency keys', () => {
  it('lets exactly one of concurrent claims win, then replays its response', async () => {
    const w = await new WorkspaceRepository(ds).createWorkspace('idem');
    const repo = new IdempotencyRepository(ds);
    const key = randomUUID();
    const outcomes = await Promise.all([0, 1, 2, 3].map(() => repo.claim(w.id, key, 'h'.repeat(64))));
    const claimed = outcomes.filter((o) => o.kind === 'claimed');
    expect(claimed).toHaveLength(1);
    expect(outcomes.filter((o) => o.kind === 'in-progress')).toHaveLength(3);
    await repo.complete((claimed[0] as { id: string }).id, 202, { id: 'x' });
    expect(await repo.claim(w.id, key, 'h'.repeat(64))).toEqual({
      kind: 'replay',
      status: 202,
      body: { id: 'x' },
    });
    expect(await repo.claim(w.id, key, 'g'.repeat(64))).toEqual({ kind: 'mismatch' });
  });
});
