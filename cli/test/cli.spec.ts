import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import Ajv2020 from 'ajv/dist/2020';
import { describe, expect, it } from 'vitest';
import { runCli } from './run-cli';

const repo = path.resolve(__dirname, '..', '..');

const run = (argv: string[], cwd = repo) => runCli(argv, cwd);

function tmpDir(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'kvplan-cli-'));
}

/** A small spec on one H100 that simulates in well under a second. */
function smallSpec(dir: string, extra = ''): string {
  const file = path.join(dir, 'spec.yaml');
  fs.writeFileSync(
    file,
    `model: meta-llama/Llama-3.1-8B
gpu: h100-sxm
workload:
  arrival: { process: poisson, rate: 8 }
  numRequests: 300
  inputTokens: { uniform: [100, 1500] }
  outputTokens: { uniform: [20, 300] }
slo:
  ttftMs: { p99: 300 }
  tpotMs: { p99: 40 }
cost: { gpuHourUsd: 2 }
${extra}`,
  );
  return file;
}

describe('kvplan simulate', () => {
  it('prints one JSON document that satisfies the result schema', async () => {
    const dir = tmpDir();
    const r = await run(['simulate', smallSpec(dir), '--json', '--timeseries=5'], dir);
    expect(r.code).toBe(0);
    const doc = JSON.parse(r.stdout);
    const schema = JSON.parse(
      fs.readFileSync(path.join(repo, 'libs/sim/schemas/simulation-result.schema.json'), 'utf8'),
    );
    const validate = new Ajv2020({ allErrors: true }).compile(schema);
    expect(validate(doc), JSON.stringify(validate.errors)).toBe(true);
    expect(doc.completed).toBe(300);
    expect(doc.timeseries.t.length).toBeGreaterThan(3);
  });

  it('exits 2 naming every bad field, prints nothing on stdout and writes no partial file', async () => {
    const dir = tmpDir();
    const file = path.join(dir, 'bad.yaml');
    fs.writeFileSync(
      file,
      'model: meta-llama/Llama-3.1-8B\ngpu: h100-sxm\nengine: { blockSize: 0, maxNumSeqz: 3 }\nworkload: { arrival: { process: poisson, rate: -2 }, numRequests: 10, inputTokens: { fixed: 10 }, outputTokens: { fixed: 5 } }\n',
    );
    const out = path.join(dir, 'requests.csv');
    const r = await run(['simulate', file, '--requests', out], dir);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(/engine\.blockSize/);
    expect(r.stderr).toMatch(/maxNumSeqz/);
    expect(r.stderr).toMatch(/workload\.arrival\.rate/);
    expect(r.stderr).not.toMatch(/ at .*\.ts:\d+/);
    expect(fs.existsSync(out)).toBe(false);
  });

  it('answers in text: the deployment, the fusion, the SLO line and intervals over seeds', async () => {
    const dir = tmpDir();
    const r = await run(['simulate', smallSpec(dir), '--seeds', '3'], dir);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^meta-llama\/Llama-3\.1-8B, 1 replica x TP1 \(1 GPU, NVIDIA H100/);
    expect(r.stdout).toMatch(/\nfusion: off\n/);
    expect(r.stdout).toMatch(
      /\nSLOs +p99 TTFT [\d.]+\/300 ms (ok|MISSED), p99 TPOT [\d.]+\/40 ms (ok|MISSED)\n/,
    );
    expect(r.stdout).toMatch(/TTFT +[\d.]+ +[\d.]+ +[\d.]+ +[\d.]+ +\[[\d.]+, [\d.]+\]/);
    const fused = await run(['simulate', smallSpec(dir, 'fusion: { threshold: 0.7 }')], dir);
    expect(fused.stdout).toMatch(/fusion: BFF at threshold 0\.7, parametric profile/);
  });

  it('reports the mean over seeds and one interval policy (no second interval beside it)', async () => {
    const dir = tmpDir();
    const r = await run(['simulate', smallSpec(dir), '--json', '--seeds', '3'], dir);
    expect(r.code).toBe(0);
    const doc = JSON.parse(r.stdout);
    expect(doc.seeds).toEqual([1, 2, 3]);
    expect(doc.ci95).toBeUndefined();
    expect(doc.intervals.level).toBe(0.9);
    const [lo, hi] = doc.intervals.metrics.mean_ttft_ms;
    expect(lo).toBeLessThan(doc.mean_ttft_ms);
    expect(hi).toBeGreaterThan(doc.mean_ttft_ms);
  });

  it('rejects unknown options and numeric flags with bad values', async () => {
    const r = await run(['simulate', 'x.yaml', '--seeds', 'many', '--colour']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--seeds/);
    expect(r.stderr).toMatch(/--colour/);
  });
});

describe('kvplan compare and calibrate', () => {
  it('compare finds no error against the simulator’s own per-request records', async () => {
    const dir = tmpDir();
    const spec = smallSpec(dir);
    const csv = path.join(dir, 'requests.csv');
    expect((await run(['simulate', spec, '--requests', csv], dir)).code).toBe(0);
    // The records carry e2el_ms; compare reads it as the measured e2e.
    const r = await run(['compare', spec, csv, '--json'], dir);
    expect(r.code).toBe(0);
    const doc = JSON.parse(r.stdout);
    expect(doc.metrics.length).toBeGreaterThanOrEqual(8);
    // Records are written to a microsecond; nothing else may differ.
    expect(doc.mean_abs_relative_error).toBeLessThan(1e-5);
  });

  it('calibrate moves the coefficients toward a run measured with different ones', async () => {
    const dir = tmpDir();
    // "Measured": the same deployment on a slower machine (half the memory efficiency).
    const truthProfile = path.join(dir, 'truth.json');
    const base = JSON.parse((await run(['simulate', smallSpec(dir), '--json'], dir)).stdout);
    expect(base.completed).toBe(300);
    fs.writeFileSync(
      truthProfile,
      JSON.stringify({
        format: 'kvplan-gpu-profile/1',
        gpu: 'h100-sxm',
        coefficients: {
          ...(await import('@kvplan/sim')).DEFAULT_TIME_MODEL,
          name: 'truth',
          memEfficiency: 0.35,
          stepOverheadS: 0.008,
        },
      }),
    );
    const truthSpec = smallSpec(dir, `calibration: ${truthProfile}\n`);
    const measured = path.join(dir, 'measured.csv');
    expect((await run(['simulate', truthSpec, '--requests', measured], dir)).code).toBe(0);
    const spec = path.join(dir, 'plain.yaml');
    fs.copyFileSync(smallSpec(dir), spec);
    const before = JSON.parse(
      (await run(['compare', spec, measured, '--json'], dir)).stdout,
    ).mean_abs_relative_error;
    const out = path.join(dir, 'profile.json');
    const r = await run(['calibrate', spec, measured, '--out', out, '--max-evals', '120'], dir);
    expect(r.code, r.stderr).toBe(0);
    const fitted = JSON.parse(fs.readFileSync(out, 'utf8'));
    expect(fitted.format).toBe('kvplan-gpu-profile/1');
    // Its own serving fractions are fitted on this GPU: the default profile's factors are not carried.
    expect(fitted.coefficients.servingFactors).toBeUndefined();
    const after = JSON.parse(
      (await run(['compare', smallSpec(dir, `calibration: ${out}\n`), measured, '--json'], dir)).stdout,
    ).mean_abs_relative_error;
    expect(after).toBeLessThan(before * 0.6);
  }, 60_000);
});

describe('kvplan capacity', () => {
  it('finds a rate that meets the SLOs and a higher one that does not', async () => {
    const dir = tmpDir();
    const r = await run(['capacity', smallSpec(dir), '--json', '--tolerance', '0.1'], dir);
    expect(r.code, r.stderr).toBe(0);
    const doc = JSON.parse(r.stdout);
    expect(doc.maxRatePerReplica).toBeGreaterThan(0);
    const meets = doc.probes.filter((p: { meets: boolean }) => p.meets).map((p: { rate: number }) => p.rate);
    const fails = doc.probes.filter((p: { meets: boolean }) => !p.meets).map((p: { rate: number }) => p.rate);
    expect(Math.max(...meets)).toBeCloseTo(doc.maxRatePerReplica, 9);
    expect(Math.min(...fails)).toBeGreaterThan(doc.maxRatePerReplica);
  }, 60_000);

  it('asks for SLOs', async () => {
    const dir = tmpDir();
    const file = path.join(dir, 'noslo.yaml');
    fs.writeFileSync(file, fs.readFileSync(smallSpec(dir), 'utf8').replace(/slo:\n.*\n.*\n/, ''));
    const r = await run(['capacity', file], dir);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/slo/);
  });
});
