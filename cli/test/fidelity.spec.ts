import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli } from './run-cli';

function spec(gpu: string, extra = ''): { dir: string; file: string } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kvplan-fidelity-'));
  const file = path.join(dir, 'spec.yaml');
  fs.writeFileSync(
    file,
    `model: meta-llama/Llama-3.1-8B
gpu: ${gpu}
workload:
  arrival: { process: poisson, rate: 4 }
  numRequests: 120
  inputTokens: { uniform: [100, 1000] }
  outputTokens: { uniform: [20, 200] }
slo:
  ttftMs: { p99: 2000 }
${extra}`,
  );
  return { dir, file };
}

const INLINE = '{ name: "My Card", memoryGiB: 40, memoryBandwidthGBps: 1000, bf16Tflops: 300 }';

describe('where kernel calibration comes from, in results and text', () => {
  it.each([
    ['h100-sxm', 'kernel-measured', /^serving factor \d\.\d{3} fitted on 4 runs$/],
    ['rtx-pro-6000', 'kernel-measured', /^serving factor \d\.\d{3} fitted on 1 run$/],
    ['h100-pcie', 'scaled from h100-sxm', /^no serving factor \(1\)/],
    [INLINE, 'datasheet only', /^no serving factor \(1\)/],
  ])(
    'simulate on %s says %s, in JSON and text',
    async (gpu, source, serving) => {
      const { dir, file } = spec(gpu);
      const j = await runCli(['simulate', file, '--json'], dir);
      expect(j.code, j.stderr).toBe(0);
      const doc = JSON.parse(j.stdout);
      expect(doc.meta.calibrated).toBe(source);
      expect(doc.meta.serving_calibrated).toMatch(serving);
      if (/^no /.test(doc.meta.serving_calibrated)) expect(doc.meta.serving_factor).toBe(1);
      else expect(doc.meta.serving_calibrated).toContain(doc.meta.serving_factor.toFixed(3));
      expect(doc.intervals.calibrated).toBe(source);
      const [lo, hi] = doc.intervals.metrics.p99_ttft_ms;
      expect(lo).toBeLessThan(doc.p99_ttft_ms);
      expect(hi).toBeGreaterThan(doc.p99_ttft_ms);
      const t = await runCli(['simulate', file], dir);
      expect(t.stdout).toContain(`calibrated   ${source}, ${doc.meta.serving_calibrated}`);
      expect(t.stdout).toMatch(/\(90 % intervals: mean, p99\)/);
      expect(t.stdout).toMatch(/TTFT( +[\d.]+){4} +\[[\d.]+, [\d.]+\] \[[\d.]+, [\d.]+\]/);
    },
    60_000,
  );

  it('widens the interval with seed spread under --seeds', async () => {
    const { dir, file } = spec('h100-sxm');
    const one = JSON.parse((await runCli(['simulate', file, '--json'], dir)).stdout);
    const three = JSON.parse((await runCli(['simulate', file, '--json', '--seeds', '3'], dir)).stdout);
    const width = (d: { intervals: { metrics: Record<string, [number, number]> } }) =>
      Math.log(d.intervals.metrics.mean_e2el_ms[1] / d.intervals.metrics.mean_e2el_ms[0]);
    expect(width(three)).toBeGreaterThan(width(one));
  }, 60_000);

  it('exits 2 naming the GPU when kernel data is required and there is none', async () => {
    const { dir, file } = spec(INLINE);
    const r = await runCli(['simulate', file, '--require-kernel-data'], dir);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(/gpu: "My Card" has no kernel measurements and no measured sibling/);
    const ok = spec('a100-40gb');
    expect((await runCli(['simulate', ok.file, '--require-kernel-data', '--json'], ok.dir)).code).toBe(0);
  }, 60_000);

  it('capacity says how likely the answer meets each SLO, and where its calibration comes from', async () => {
    const { dir, file } = spec('h100-sxm');
    const r = await runCli(['capacity', file, '--tolerance', '0.2'], dir);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/at that size it (meets|misses) p99 TTFT 2 s with ~\d+ % confidence/);
    expect(r.stdout).toContain('calibrated: kernel-measured');
    const j = JSON.parse((await runCli(['capacity', file, '--tolerance', '0.2', '--json'], dir)).stdout);
    expect(j.confidence[0].metric).toBe('p99_ttft_ms');
    expect(j.confidence[0].probability).toBeGreaterThan(0);
    expect(j.confidence[0].probability).toBeLessThanOrEqual(1);
  }, 120_000);
});
