// Which stored fusion profile a deployment's simulation uses (FusionProfileRepository.latestBuilt),
// against the real PostgreSQL: its own first; else one built without a deployment or for another
// deployment of the same model; never one measured on another model's KV.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DataSource } from 'typeorm';
import {
  DeploymentRepository,
  FusionConfigRepository,
  FusionProfileRepository,
  WorkloadProfileRepository,
  WorkspaceRepository,
  dataSourceOptions,
} from '@kvplan/db';
import { migrate, recreateDatabase, testDatabaseUrl } from '@kvplan/migrations';

const url = testDatabaseUrl('kvplan_test_worker_profile_choice');
let ds: DataSource;

beforeAll(async () => {
  await recreateDatabase(url);
  await migrate(url);
  ds = await new DataSource(dataSourceOptions({ url, poolSize: 2 })).initialize();
}, 60_000);
afterAll(async () => {
  await ds?.destroy();
});

describe('the fusion profile a deployment uses', () => {
  it('is its own, else one of the same model, never another model’s', async () => {
    const ws = (await new WorkspaceRepository(ds).createWorkspaceWithAdminKey('choice')).workspace.id;
    const deployments = new DeploymentRepository(ds);
    const dep = (name: string, model: string, gpu: string) =>
      deployments.create(ws, { name, spec: { model, gpu } });
    const l4 = await dep('8b on L4', 'meta-llama/Llama-3.1-8B', 'l4');
    const h100 = await dep('8b on H100', 'meta-llama/Llama-3.1-8B', 'h100-sxm');
    const big = await dep('70b on H100', 'meta-llama/Llama-2-70b-hf', 'h100-sxm');
    const wl = await new WorkloadProfileRepository(ds).create(ws, {
      name: 'w',
      spec: { arrival: { process: 'poisson', rate: 1 }, numRequests: 10 },
    });
    const fc = await new FusionConfigRepository(ds).create(ws, {
      name: 'f',
      spec: { mode: 'bff', thresholds: [0.8] },
    });
    const profiles = new FusionProfileRepository(ds);
    const build = async (deploymentId: string | null) => {
      const { fusionProfile, job } = await profiles.createWithJob(ws, {
        workloadProfileId: wl.id,
        fusionConfigId: fc.id,
        deploymentId,
      });
      await profiles.saveProfile(fusionProfile.id, job.id, 'synthetic', { mode: 'bff' });
      return fusionProfile.id;
    };
    const onL4 = await build(l4.id);
    const chosen = async (deploymentId: string) =>
      (await profiles.latestBuilt(ws, wl.id, fc.id, deploymentId, 'bff'))?.id ?? null;

    expect(await chosen(l4.id)).toBe(onL4);
    expect(await chosen(h100.id)).toBe(onL4); // same model: the L4's measurement holds
    expect(await chosen(big.id)).toBeNull(); // another model: none rather than a wrong one

    const anyDeployment = await build(null);
    expect(await chosen(big.id)).toBe(anyDeployment);
    const onH100 = await build(h100.id);
    expect(await chosen(h100.id)).toBe(onH100);
    expect(await chosen(l4.id)).toBe(onL4); // its own wins over a newer one of another deployment
  });
});
