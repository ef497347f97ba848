// The retention sweep against the real PostgreSQL: what expires in a workspace with
// retentionDays goes, with its files; nothing of another workspace is touched.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Logger } from '@nestjs/common';
import { DataSource } from 'typeorm';
import {
  DeploymentRepository,
  FusionConfigRepository,
  FusionProfileRepository,
  JobRepository,
  KvSampleRepository,
  ProjectionRepository,
  RetentionRepository,
  TraceRepository,
  WorkloadProfileRepository,
  WorkspaceRepository,
  dataSourceOptions,
} from '@kvplan/db';
import { migrate, recreateDatabase, testDatabaseUrl } from '@kvplan/migrations';
import { loadWorkerConfig } from '../src/config';
import { RetentionService } from '../src/retention/retention.service';

const url = testDatabaseUrl('kvplan_test_worker_retention');
const storage = fs.mkdtempSync(path.join(os.tmpdir(), 'kvplan-retention-'));
let ds: DataSource;

beforeAll(async () => {
  Logger.overrideLogger(false);
  await recreateDatabase(url);
  await migrate(url);
  ds = await new DataSource(dataSourceOptions({ url, poolSize: 4 })).initialize();
}, 60_000);
afterAll(async () => {
  await ds?.destroy();
  fs.rmSync(storage, { recursive: true, force: true });
});

const OLD = "now() - interval '40 days'";

async function backdate(table: string, ids: string[]): Promise<void> {
  await ds.query(`UPDATE ${table} SET created_at = ${OLD} WHERE id = ANY($1::uuid[])`, [ids]);
}

/** A workspace's uploads and results: some 40 days old, some fresh. */
async function seed(workspaceId: string) {
  const file = (kind: string) => {
    const rel = `${kind}/${workspaceId}/${randomUUID()}.bin`;
    fs.mkdirSync(path.join(storage, path.dirname(rel)), { recursive: true });
    fs.writeFileSync(path.join(storage, rel), 'x');
    return rel;
  };
  const traces = new TraceRepository(ds);
  const trace = (storagePath: string) =>
    traces.insert({
      id: randomUUID(),
      workspaceId,
      name: 't',
      format: 'csv',
      storagePath,
      sizeBytes: 1,
      sha256: '0'.repeat(64),
      numRequests: 1,
      tenants: [],
    });
  const oldTrace = await trace(file('traces'));
  const usedTrace = await trace(file('traces'));
  const newTrace = await trace(file('traces'));
  const kv = new KvSampleRepository(ds);
  const kvRow = (storagePath: string) =>
    kv.insert({
      id: randomUUID(),
      workspaceId,
      name: 'k',
      workloadProfileId: null,
      storagePath,
      sizeBytes: 1,
      sha256: '0'.repeat(64),
      metadata: { format: 'kvplan-kv/1' },
    });
  const oldKv = await kvRow(file('kv-samples'));
  const newKv = await kvRow(file('kv-samples'));
  const wp = await new WorkloadProfileRepository(ds).create(workspaceId, {
    name: 'w',
    spec: {},
    traceId: usedTrace.id,
  });
  const dep = await new DeploymentRepository(ds).create(workspaceId, { name: 'd', spec: {} });
  const fc = await new FusionConfigRepository(ds).create(workspaceId, { name: 'f', spec: {} });
  const projections = new ProjectionRepository(ds);
  const jobs = new JobRepository(ds);
  const proj = async (finished: boolean) => {
    const r = await projections.createWithJob(workspaceId, {
      workloadProfileId: wp.id,
      deploymentId: dep.id,
      fusionConfigId: null,
      spec: {},
    });
    if (finished) await projections.saveResult(r.projection.id, r.job.id, { ok: true });
    else await jobs.markRunning(r.job.id);
    return r;
  };
  const oldDone = await proj(true);
  const oldRunning = await proj(false);
  const newDone = await proj(true);
  const fp = await new FusionProfileRepository(ds).createWithJob(workspaceId, {
    workloadProfileId: wp.id,
    fusionConfigId: fc.id,
    deploymentId: dep.id,
  });
  await jobs.markFailed(fp.job.id, 'boom');
  await backdate('traces', [oldTrace.id, usedTrace.id]);
  await backdate('kv_samples', [oldKv.id]);
  await backdate('jobs', [oldDone.job.id, oldRunning.job.id, fp.job.id]);
  await backdate('projections', [oldDone.projection.id, oldRunning.projection.id]);
  await backdate('fusion_profiles', [fp.fusionProfile.id]);
  return { oldTrace, usedTrace, newTrace, oldKv, newKv, oldDone, oldRunning, newDone, fp };
}

const exists = async (table: string, id: string) =>
  (await ds.query(`SELECT 1 FROM ${table} WHERE id = $1`, [id])).length === 1;
const onDisk = (rel: string) => fs.existsSync(path.join(storage, rel));

describe('retention sweep', () => {
  it('deletes expired uploads and finished results of workspaces with retentionDays, and nothing else', async () => {
    const wsRepo = new WorkspaceRepository(ds);
    const a = await wsRepo.createWorkspace('keeps 30 days', 30);
    const b = await wsRepo.createWorkspace('keeps everything', null);
    const rowsA = await seed(a.id);
    const rowsB = await seed(b.id);
    const config = loadWorkerConfig({
      DATABASE_URL: url,
      REDIS_URL: process.env.KVPLAN_TEST_REDIS ?? 'redis://127.0.0.1:6379',
      STORAGE_DIR: storage,
    });
    const service = new RetentionService(config, new RetentionRepository(ds));

    const outcome = await service.sweep();
    const forA = outcome?.find((o) => o.workspaceId === a.id);
    expect(forA).toMatchObject({ traces: 1, kvSamples: 1, jobs: 2, tracesInUse: 1 });
    expect(outcome?.some((o) => o.workspaceId === b.id)).toBe(false);

    // workspace A: expired and unused -> gone, files included
    expect(await exists('traces', rowsA.oldTrace.id)).toBe(false);
    expect(onDisk(rowsA.oldTrace.storagePath)).toBe(false);
    expect(await exists('kv_samples', rowsA.oldKv.id)).toBe(false);
    expect(onDisk(rowsA.oldKv.storagePath)).toBe(false);
    expect(await exists('projections', rowsA.oldDone.projection.id)).toBe(false);
    expect(await exists('jobs', rowsA.oldDone.job.id)).toBe(false);
    expect(await exists('fusion_profiles', rowsA.fp.fusionProfile.id)).toBe(false);
    // kept: a trace a workload profile replays, a job still running, everything fresh
    expect(await exists('traces', rowsA.usedTrace.id)).toBe(true);
    expect(onDisk(rowsA.usedTrace.storagePath)).toBe(true);
    expect(await exists('projections', rowsA.oldRunning.projection.id)).toBe(true);
    expect(await exists('traces', rowsA.newTrace.id)).toBe(true);
    expect(await exists('kv_samples', rowsA.newKv.id)).toBe(true);
    expect(await exists('projections', rowsA.newDone.projection.id)).toBe(true);

    // workspace B (no retention): every row and file as it was
    for (const [table, id] of [
      ['traces', rowsB.oldTrace.id],
      ['kv_samples', rowsB.oldKv.id],
      ['projections', rowsB.oldDone.projection.id],
      ['jobs', rowsB.oldDone.job.id],
      ['fusion_profiles', rowsB.fp.fusionProfile.id],
    ] as const)
      expect(await exists(table, id)).toBe(true);
    expect(onDisk(rowsB.oldTrace.storagePath)).toBe(true);
    expect(onDisk(rowsB.oldKv.storagePath)).toBe(true);

    // a second sweep finds nothing more to delete
    const again = await service.sweep();
    expect(again?.find((o) => o.workspaceId === a.id)).toMatchObject({ traces: 0, kvSamples: 0, jobs: 0 });
  });

  it('skips the sweep while another process holds the sweep lock', async () => {
    const repo = new RetentionRepository(ds);
    let inner: unknown = 'not run';
    const outer = await repo.withSweepLock(async () => {
      inner = await repo.withSweepLock(async () => 'ran');
      return 'outer ran';
    });
    expect(outer).toBe('outer ran');
    expect(inner).toBeNull();
  });
});
