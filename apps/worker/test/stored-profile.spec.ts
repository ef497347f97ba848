import * as fs from 'node:fs';
import { describe, expect, it } from 'vitest';
import { withStoredProfile } from '../src/handlers/stored-profile';

const profile = { format: 'kvplan-fusion-profile/1', mode: 'bff', points: [] };

describe('withStoredProfile', () => {
  it('points spec.fusion.profile at a file holding the profile, removed afterwards', async () => {
    const spec = { model: 'm', fusion: { mode: 'bff', threshold: 0.7 } };
    let seen: Record<string, unknown> = {};
    let file = '';
    await withStoredProfile(spec, profile, 'run-1', async (s) => {
      seen = s;
      file = (s.fusion as { profile: string }).profile;
      expect(JSON.parse(fs.readFileSync(file, 'utf8'))).toEqual(profile);
    });
    expect(seen.fusion).toEqual({ mode: 'bff', threshold: 0.7, profile: file });
    expect(spec.fusion).toEqual({ mode: 'bff', threshold: 0.7 });
    expect(fs.existsSync(file)).toBe(false);
  });

  it('removes the file when the run fails too', async () => {
    let file = '';
    const failing = withStoredProfile({ fusion: { mode: 'bff' } }, profile, 'run-2', async (s) => {
      file = (s.fusion as { profile: string }).profile;
      throw new Error('simulation failed');
    });
    await expect(failing).rejects.toThrow('simulation failed');
    expect(file).not.toBe('');
    expect(fs.existsSync(file)).toBe(false);
  });

  it('runs a spec without fusion, or without a stored profile, as it is', async () => {
    const noFusion = { model: 'm' };
    expect(await withStoredProfile(noFusion, profile, 'run-3', async (s) => s)).toBe(noFusion);
    const parametric = { fusion: { mode: 'bff' } };
    expect(await withStoredProfile(parametric, null, 'run-4', async (s) => s)).toBe(parametric);
  });
});
