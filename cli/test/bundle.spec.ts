import { execFileSync, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli, TINY_KV_FLAGS } from './run-cli';

const cliDir = path.resolve(__dirname, '..');
const bin = path.join(cliDir, 'bin', 'kvplan.js');
// eslint-disable-next-line @typescript-eslint/no-require-imports -- plain CommonJS shared with the bin
const { bundleState } = require('../bin/bundle-state.js') as {
  bundleState: (manifest?: string) => { fresh: boolean; reason?: string };
};

const node = (args: string[], cwd: string, env: Record<string, string> = {}) =>
  spawnSync(process.execPath, [bin, ...args], { cwd, encoding: 'utf8', env: { ...process.env, ...env } });

describe('the prebuilt kvplan bundle', () => {
  it("is fresh: built (by `npm ci`, and by this project's test script) from the sources as they are now", () => {
    const s = bundleState();
    expect(s.reason ?? '', 'run `npm run build:cli`').toBe('');
    expect(s.fresh).toBe(true);
  });

  it('is what the bin runs, and answers as the sources do', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kvplan-bundle-'));
    const r = node(['gpus', '--json'], dir);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    const inProcess = await runCli(['gpus', '--json'], dir);
    expect(r.stdout).toBe(inProcess.stdout);
    const bad = node(['gpus', 'h100'], dir);
    expect(bad.status).toBe(2);
    expect(bad.stdout).toBe('');
  });

  it("maps a library's bad-input error thrown in a command's file to exit 2 (each file inlines its own copy of the libraries)", () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kvplan-bundle-'));
    const r = node(['simulate', dir], dir);
    expect(r.stderr).toMatch(/bad input[\s\S]*is a directory, expected a file/);
    expect(r.status).toBe(2);
    expect(r.stdout).toBe('');
  });

  it('keeps tfjs and its wasm backend external: fusion runs from the bundle on wasm', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kvplan-bundle-'));
    expect(node(['kv', 'synth', 'a.safetensors', ...TINY_KV_FLAGS], dir).status).toBe(0);
    const r = node(['fuse', 'a.safetensors', '--mode', 'bff', '--threshold', '0.5', '--json'], dir, {
      KVPLAN_TF_BACKEND: 'wasm',
    });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/tfjs backend: wasm/);
    expect(JSON.parse(r.stdout).thresholds).toHaveLength(1);
  }, 60_000);

  it('says the bundle is stale when a source is newer or gone, and missing when there is none', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kvplan-bundle-'));
    const manifest = path.join(dir, 'inputs.json');
    expect(bundleState(manifest)).toMatchObject({ fresh: false, reason: 'no bundle in cli/dist' });
    fs.writeFileSync(manifest, JSON.stringify({ startedAtMs: 0, inputs: ['cli/src/main.ts'] }));
    expect(bundleState(manifest).reason).toBe('cli/src/main.ts is newer than the bundle');
    fs.writeFileSync(manifest, JSON.stringify({ startedAtMs: Date.now(), inputs: ['cli/src/nope.ts'] }));
    expect(bundleState(manifest).reason).toMatch(/nope\.ts, which the bundle was built from, is gone/);
  });

  it('is git-ignored', () => {
    const out = execFileSync('git', ['check-ignore', 'cli/dist/main.js'], {
      cwd: path.join(cliDir, '..'),
      encoding: 'utf8',
    });
    expect(out.trim()).toBe('cli/dist/main.js');
  });
});
