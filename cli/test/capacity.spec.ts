import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli } from './run-cli';

function tmpDir(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'kvplan-capacity-'));
}

function spec(dir: string, body: string): string {
  const file = path.join(dir, 'spec.yaml');
  fs.writeFileSync(file, body);
  return file;
}

/** 40 short requests: all fit in one batch, so as given they "meet" any rate. An L40S, whose
 * p99 TPOT limit binds at about a third of 100 req/s. */
const FORTY = `model: meta-llama/Llama-3.1-8B
gpu: l40s
workload:
  arrival: { process: poisson, rate: 5 }
  numRequests: 40
  inputTokens: { fixed: 200 }
  outputTokens: { fixed: 100 }
slo:
  ttftMs: { p99: 2000 }
  tpotMs: { p99: 40 }
cost: { gpuHourUsd: 2.5 }
`;

/** 6,000-token prompts under a 150 ms p99 TTFT: an H100 misses it even alone (about 190 ms), a
 * B200 does not (about 115 ms). */
const LONG_PROMPTS = `model: meta-llama/Llama-3.1-8B
gpu: h100-sxm
workload:
  arrival: { process: poisson, rate: 1 }
  numRequests: 300
  inputTokens: { fixed: 6000 }
  outputTokens: { fixed: 50 }
slo:
  ttftMs: { p99: 150 }
cost: { gpuHourUsd: 2.5 }
`;

/** A MoE model on 8 H100s: short requests under a TPOT limit, priced. */
const MOE = `model: Qwen/Qwen3-30B-A3B
gpu: h100-sxm
engine: { maxModelLen: 4096 }
workload:
  arrival: { process: poisson, rate: 20 }
  numRequests: 400
  inputTokens: { fixed: 400 }
  outputTokens: { fixed: 40 }
slo:
  ttftMs: { p99: 1000 }
  tpotMs: { p99: 30 }
cost: { gpuHourUsd: 2.5 }
`;

describe('kvplan capacity knows its limits', () => {
  it('repeats a 40-request workload until it can measure the rate, and says so', async () => {
    const dir = tmpDir();
    const r = await runCli(['capacity', spec(dir, FORTY), '--target-rate', '100', '--json'], dir);
    expect(r.code, r.stderr).toBe(0);
    const doc = JSON.parse(r.stdout);
    // Before: 49,369,745 req/s per replica and "1 replica" for 100 req/s.
    expect(doc.maxRatePerReplica).toBeGreaterThan(5);
    expect(doc.maxRatePerReplica).toBeLessThan(500);
    expect(doc.replicasForTarget).toBeGreaterThan(1);
    expect(doc.workload.requests).toBe(40);
    expect(doc.workload.measuredOn).toBeGreaterThanOrEqual(200);
    expect(doc.verification.meets).toBe(true);
    expect(doc.verification.replicas).toBe(doc.replicasForTarget);
  }, 60_000);

  it('with --no-extend refuses the 40-request workload, saying how many requests it needs', async () => {
    const dir = tmpDir();
    const r = await runCli(['capacity', spec(dir, FORTY), '--no-extend'], dir);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(/workload: 40 requests are too few .* needs at least \d+ requests/);
  });

  it('refuses unknown GPUs and TP degrees that do not divide the heads, naming each, before simulating', async () => {
    const dir = tmpDir();
    const r = await runCli(
      [
        'capacity',
        spec(dir, FORTY),
        '--sweep-gpus',
        'h100-sxm,nonsense',
        '--sweep-tp',
        '1,3',
        '--sweep-thresholds',
        '0.7,7',
      ],
      dir,
    );
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(/--sweep-gpus: nonsense: unknown GPU/);
    expect(r.stderr).toMatch(/--sweep-tp: 3: 3 does not divide the model's 32 attention heads/);
    expect(r.stderr).toMatch(/--sweep-thresholds: 7/);
    expect(r.stderr).not.toMatch(/--sweep-thresholds: 0\.7/);
  });

  it('sweeps pipeline degrees and CPU KV offload sizes, refusing bad ones by flag before simulating', async () => {
    const dir = tmpDir();
    const bad = await runCli(
      ['capacity', spec(dir, FORTY), '--sweep-pp', '2,3', '--sweep-kv-offload-gib', '0,5000'],
      dir,
    );
    expect(bad.code).toBe(2);
    expect(bad.stdout).toBe('');
    expect(bad.stderr).toMatch(/--sweep-pp: 3: 3 does not divide the model's 32 layers/);
    expect(bad.stderr).toMatch(
      /--sweep-kv-offload-gib: 5000: 5000 GiB per replica needs .* more than the node's 1024 GiB/,
    );
    expect(bad.stderr).not.toMatch(/--sweep-pp: 2/);

    const r = await runCli(
      ['capacity', spec(dir, FORTY), '--sweep-pp', '2', '--sweep-kv-offload-gib', '0,4', '--json'],
      dir,
    );
    expect(r.code, r.stderr).toBe(0);
    const points = JSON.parse(r.stdout).points;
    expect(points.map((p: { label: string }) => p.label)).toEqual([
      'l40s tp1 pp2 cpu0G',
      'l40s tp1 pp2 cpu4G',
    ]);
    expect(points.map((p: { kvOffloadGiB: number | null }) => p.kvOffloadGiB)).toEqual([null, 4]);
    for (const p of points) {
      expect(p.pipelineParallel).toBe(2);
      expect(p.feasible).toBe(true);
      // Two GPUs a replica.
      expect(p.maxRatePerGpu).toBeCloseTo(p.maxRatePerReplica / 2, 10);
    }
  }, 120_000);

  it('shows a configuration that cannot meet the SLOs at any rate as infeasible, never on the Pareto front', async () => {
    const dir = tmpDir();
    const r = await runCli(
      ['capacity', spec(dir, LONG_PROMPTS), '--sweep-gpus', 'h100-sxm,b200', '--json'],
      dir,
    );
    expect(r.code, r.stderr).toBe(0);
    const [h100, b200] = JSON.parse(r.stdout).points;
    expect(h100.feasible).toBe(false);
    expect(h100.pareto).toBe(false);
    expect(h100.limitedBy).toMatch(/^infeasible: p99_ttft_ms [\d.]+ > 150 at zero load/);
    expect(b200.feasible).toBe(true);
    expect(b200.pareto).toBe(true);
    expect(b200.limitedBy).toMatch(/p99_ttft_ms/);
    const text = await runCli(
      ['capacity', path.join(dir, 'spec.yaml'), '--sweep-gpus', 'h100-sxm,b200'],
      dir,
    );
    expect(text.stdout).toMatch(/h100-sxm tp1 +infeasible/);
    expect(text.stdout).toMatch(/\$\/M out tok +\$\/M total tok/);
    expect(text.stdout).toMatch(/limited by/);
  }, 60_000);

  it('prints what limits the rate, both costs and the verifying simulation with its interval over seeds', async () => {
    const dir = tmpDir();
    const r = await runCli(['capacity', spec(dir, FORTY), '--target-rate', '100', '--seeds', '3'], dir);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/1 replica x TP1 \(1 GPU, /);
    expect(r.stdout).toMatch(/fusion: off/);
    expect(r.stdout).toMatch(/limited by: p99_(ttft|tpot)_ms/);
    expect(r.stdout).toMatch(/per million output tokens, \$[\d.]+ per million input \+ output tokens/);
    expect(r.stdout).toMatch(
      /verified by simulation: \d+ replicas \(\d+ GPUs\) at 100\.0 req\/s \(seeds 1-3, 90 % interval: calibration residuals and seeds\): p99 TTFT [\d.]+ \[[\d.]+, [\d.]+\]\/2000 ms ok/,
    );
  }, 60_000);

  it("answers a sweep with a target rate in the service's sentence: the cheapest GPU type, count and price", async () => {
    const dir = tmpDir();
    const file = spec(dir, LONG_PROMPTS);
    const argv = ['capacity', file, '--sweep-gpus', 'h100-sxm,b200', '--target-rate', '2'];
    const r = await runCli([...argv, '--json', '--threads', '2'], dir);
    expect(r.code, r.stderr).toBe(0);
    const { answer } = JSON.parse(r.stdout);
    // The H100 cannot meet the SLO at any rate: the B200 is the answer, priced by the spec's cost.
    expect(answer.rows.map((x: { gpu: string; feasible: boolean }) => [x.gpu, x.feasible])).toEqual([
      ['h100-sxm', false],
      ['b200', true],
    ]);
    const b200 = answer.rows[1];
    expect(answer.best).toBe(1);
    expect(b200.usdPerHour).toBeCloseTo(b200.gpus * 2.5, 9);
    const text = await runCli(argv, dir);
    expect(text.stdout).toContain(
      `Serve 2 req/s on ${b200.gpus} x ${b200.gpuName} (b200, TP1, ${b200.replicas} ${b200.replicas === 1 ? 'replica' : 'replicas'}) for $${b200.usdPerHour.toFixed(2)}/h.`,
    );
  }, 120_000);

  it('spreads a sweep over worker threads with the same rows as one thread', async () => {
    const dir = tmpDir();
    const file = spec(dir, LONG_PROMPTS);
    const argv = ['capacity', file, '--sweep-gpus', 'h100-sxm,b200', '--sweep-tp', '1,2', '--json'];
    const one = await runCli([...argv, '--threads', '1'], dir);
    const two = await runCli([...argv, '--threads', '2'], dir);
    expect(two.code, two.stderr).toBe(0);
    expect(JSON.parse(two.stdout)).toEqual(JSON.parse(one.stdout));
    expect(JSON.parse(two.stdout).points).toHaveLength(4);
  }, 120_000);

  it('answers "EP8 on one node or TP4 x DP2" for a MoE model, with cost per GPU', async () => {
    const dir = tmpDir();
    const file = spec(dir, MOE);
    const r = await runCli(
      ['capacity', file, '--sweep-shapes', 'tp1xdp8+ep,tp4xdp2,tp4xdp2+ep', '--json'],
      dir,
    );
    expect(r.code, r.stderr).toBe(0);
    const points = JSON.parse(r.stdout).points;
    expect(points.map((p: { label: string }) => p.label)).toEqual([
      'h100-sxm tp1xdp8+ep',
      'h100-sxm tp4xdp2',
      'h100-sxm tp4xdp2+ep',
    ]);
    expect(
      points.map((p: { dataParallel: number; expertParallel: boolean }) => [
        p.dataParallel,
        p.expertParallel,
      ]),
    ).toEqual([
      [8, true],
      [2, false],
      [2, true],
    ]);
    for (const p of points) {
      expect(p.feasible, p.limitedBy).toBe(true);
      expect(p.maxRatePerGpu).toBeCloseTo(p.maxRatePerReplica / 8, 9);
      expect(p.costPerMillionOutputTokensUsd).toBeGreaterThan(0);
    }
    expect(points.some((p: { pareto: boolean }) => p.pareto)).toBe(true);
    // Expert parallelism changes what the same 8 GPUs serve.
    expect(points[1].maxRatePerGpu).not.toBe(points[2].maxRatePerGpu);
    const text = await runCli(['capacity', file, '--sweep-shapes', 'tp1xdp8+ep,tp4xdp2'], dir);
    expect(text.stdout).toMatch(/h100-sxm tp1xdp8\+ep/);
  }, 240_000);

  it('names a layout that cannot be deployed: experts not divisible, a malformed shape', async () => {
    const dir = tmpDir();
    const file = spec(dir, MOE);
    const r = await runCli(['capacity', file, '--sweep-shapes', 'tp1xdp3+ep,tp2'], dir);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--sweep-shapes: tp1xdp3\+ep: .*3 ranks do not divide the model's 128 experts/);
    const bad = await runCli(['capacity', file, '--sweep-shapes', 'ep8'], dir);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/--sweep-shapes: "ep8": expected tpN/);
    const both = await runCli(['capacity', file, '--sweep-shapes', 'tp2', '--sweep-tp', '1'], dir);
    expect(both.code).toBe(2);
    expect(both.stderr).toMatch(/--sweep-shapes: give either/);
  });
});
