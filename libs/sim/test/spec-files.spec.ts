// The spec's file policy: with `files: []` no field makes the resolver read a file, whatever
// the string looks like, and the answer is the same whether the file exists or not.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { DEFAULT_TIME_MODEL, InputError, resolveSimulationSpec, type InputIssue } from '../src';

const WORKLOAD = {
  arrival: { process: 'constant', rate: 1 },
  numRequests: 1,
  inputTokens: { fixed: 16 },
  outputTokens: { fixed: 2 },
};

function issuesOf(spec: Record<string, unknown>, baseDir: string): InputIssue[] {
  try {
    resolveSimulationSpec(spec, { baseDir, files: [] });
  } catch (err) {
    if (err instanceof InputError) return err.issues;
    throw err;
  }
  return [];
}

describe('files: [] (the service)', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kvplan-files-'));
  const secret = 'SECRET-CONTENT-42';
  // A config.json and a calibration that would be accepted if read.
  fs.writeFileSync(
    path.join(dir, 'config.json'),
    JSON.stringify({ num_hidden_layers: 2, hidden_size: 64, num_attention_heads: 4, note: secret }),
  );
  fs.writeFileSync(path.join(dir, 'cal.json'), JSON.stringify({ format: secret }));
  fs.writeFileSync(path.join(dir, 'trace.csv'), `arrival_time_s,input_tokens,output_tokens\n0,1,1\n`);
  const absent = path.join(dir, 'missing.json');
  const present = path.join(dir, 'config.json');
  const values = [
    present,
    ` ${present}`,
    `\t${present}\n`,
    `\u00a0${present}`,
    `\u2003${present}\u3000`,
    'config.json',
    ' config.json',
    './config.json',
    '../x',
    '/etc/passwd',
    ' /etc/passwd',
    '/proc/self/environ',
    'file:///etc/passwd',
    `${dir}`,
    'C:\\\\windows\\\\win.ini',
    '~/.ssh/id_rsa',
  ];

  it('model and calibration strings are preset names only; nothing is read', () => {
    for (const v of values) {
      for (const key of ['model', 'calibration'] as const) {
        const spec = { model: 'meta-llama/Llama-3.1-8B', gpu: 'h100-sxm', workload: WORKLOAD, [key]: v };
        const issues = issuesOf(spec, dir);
        expect(
          issues.map((i) => i.path),
          `${key}=${JSON.stringify(v)}`,
        ).toEqual([key]);
        expect(issues[0].message).toContain('file paths are not read here');
        expect(JSON.stringify(issues)).not.toContain(secret);
      }
    }
  });

  it('answers the same for an existing and a missing file', () => {
    const spec = (m: string) => ({ model: m, gpu: 'h100-sxm', workload: WORKLOAD });
    const a = issuesOf(spec(present), dir).map((i) => i.message);
    const b = issuesOf(spec(absent), dir).map((i) => i.message);
    expect(a).toEqual(b);
  });

  it('trace, empirical and fusion.profile paths are refused', () => {
    const base = { model: 'meta-llama/Llama-3.1-8B', gpu: 'h100-sxm' };
    expect(issuesOf({ ...base, workload: { trace: 'trace.csv' } }, dir).map((i) => i.path)).toEqual([
      'workload.trace',
    ]);
    const emp = { ...WORKLOAD, inputTokens: { empirical: 'trace.csv' } };
    expect(issuesOf({ ...base, workload: emp }, dir).map((i) => i.path)).toEqual([
      'workload.inputTokens.empirical',
    ]);
    expect(
      issuesOf({ ...base, workload: WORKLOAD, fusion: { mode: 'bff', profile: 'config.json' } }, dir).map(
        (i) => i.path,
      ),
    ).toEqual(['fusion.profile']);
  });

  it('presets after trimming, inline models and inline calibrations still resolve', () => {
    const { name: _n, ...coefficients } = DEFAULT_TIME_MODEL;
    const s = resolveSimulationSpec(
      {
        model: '  meta-llama/Llama-3.1-8B ',
        gpu: 'h100-sxm',
        workload: WORKLOAD,
        calibration: { format: 'kvplan-gpu-profile/1', gpu: 'h100-sxm', coefficients },
      },
      { baseDir: dir, files: [] },
    );
    expect(s.model.numLayers).toBe(32);
    expect(s.timeModel).toEqual({ ...DEFAULT_TIME_MODEL, name: 'inline' });
    const t = resolveSimulationSpec(
      { model: 'meta-llama/Llama-3.1-8B', gpu: 'h100-sxm', workload: WORKLOAD, calibration: ' default ' },
      { baseDir: dir, files: [] },
    );
    expect(t.timeModel).toBe(DEFAULT_TIME_MODEL);
  });
});
