import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

/**
 * Runs `run` with `spec` pointing at a stored fusion profile: the simulator reads a profile from
 * a file (spec.fusion.profile), so the profile is written to this run's own temporary file,
 * removed afterwards. A spec without fusion, or no profile, runs as it is. `runId` names the file:
 * unique among the runs of this process.
 */
export async function withStoredProfile<T>(
  spec: Record<string, unknown>,
  profile: Record<string, unknown> | null,
  runId: string,
  run: (spec: Record<string, unknown>) => Promise<T>,
): Promise<T> {
  const fusion = spec.fusion as Record<string, unknown> | undefined;
  if (!fusion || !profile) return run(spec);
  const file = path.join(os.tmpdir(), `kvplan-fusion-profile-${runId}-${process.pid}.json`);
  fs.writeFileSync(file, JSON.stringify(profile));
  try {
    return await run({ ...spec, fusion: { ...fusion, profile: file } });
  } finally {
    fs.rmSync(file, { force: true });
  }
}
