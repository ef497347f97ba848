import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli } from './run-cli';
import { verdict, type Judged } from '../src/commands/plan';

const run = runCli;

/** A small inline model so the synthetic KV sample and its fusion take a second, not minutes. */
function setup(plan: string): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kvplan-plan-'));
  fs.writeFileSync(
    path.join(dir, 'deploy.yaml'),
    `model: { num_hidden_layers: 8, hidden_size: 512, num_attention_heads: 8, num_key_value_heads: 2, intermediate_size: 1536, vocab_size: 32000, max_position_embeddings: 8192, torch_dtype: bfloat16 }
gpu: l4
engine: { numGpuBlocks: 600 }
workload:
  arrival: { process: poisson, rate: 20 }
  numRequests: 300
  inputTokens: { uniform: [200, 1200] }
  outputTokens: { uniform: [50, 300] }
`,
  );
  fs.writeFileSync(path.join(dir, 'plan.yaml'), plan);
  return dir;
}

describe('kvplan plan', () => {
  it('builds a fusion profile from synthetic KV and projects the deployment with and without fusion', async () => {
    const dir = setup(
      'deployment: deploy.yaml\nkv: { synthetic: { numSeqs: 6, blocksPerSeq: 6 } }\nfusion: { mode: bff, thresholds: [0.5, 0.9] }\n',
    );
    const r = await run(['plan', 'plan.yaml', '--json', '--profile', 'profile.json'], dir);
    expect(r.code, r.stderr).toBe(0);
    const doc = JSON.parse(r.stdout);
    expect(doc.kv.synthetic).toBe(true);
    expect(doc.thresholds.map((t: { threshold: number }) => t.threshold)).toEqual([0.5, 0.9]);
    const [low, high] = doc.thresholds;
    // A lower threshold fuses at least as much on the sample, frees at least as much in serving,
    // and distorts attention at least as much.
    expect(low.compressionRatioAllLayers).toBeGreaterThanOrEqual(high.compressionRatioAllLayers);
    expect(low.projection.fusion.blocks_freed).toBeGreaterThanOrEqual(high.projection.fusion.blocks_freed);
    expect(low.distortion.attentionRelError).toBeGreaterThanOrEqual(high.distortion.attentionRelError);
    expect(doc.baseline.fusion).toBeNull();
    expect(doc.accuracy.source).toBe('attention-proxy');
    const profile = JSON.parse(fs.readFileSync(path.join(dir, 'profile.json'), 'utf8'));
    expect(profile.format).toBe('kvplan-fusion-profile/1');
    expect(profile.source).toBe('synthetic');
  }, 120_000);

  it('names every bad key of a plan file and exits 2', async () => {
    const dir = setup(
      'deployment: deploy.yaml\nkv: { synthetic: { numSeqs: 0 } }\nfusion: { mode: xff, thresholds: [2] }\nextra: 1\n',
    );
    const r = await run(['plan', 'plan.yaml'], dir);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    for (const key of ['kv.synthetic.numSeqs', 'fusion.mode', 'fusion.thresholds', 'extra'])
      expect(r.stderr).toContain(key);
  });

  it('answers a KV sample file that is not one with exit 2, naming the file', async () => {
    const dir = setup(
      'deployment: deploy.yaml\nkv: { file: kv.safetensors }\nfusion: { mode: bff, thresholds: [0.7] }\n',
    );
    fs.writeFileSync(path.join(dir, 'kv.safetensors'), Buffer.from([1, 2, 3]));
    const r = await run(['plan', 'plan.yaml'], dir);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(/bad input/);
    expect(r.stderr).toContain('kv.safetensors');
  });

  it('says when fusion decides the SLO verdict, and its price', () => {
    const proj = (ttft: number, preemptions: number, freed: number | null): Judged['projection'] =>
      ({
        output_throughput: 36,
        request_throughput: 0.1,
        request_goodput: 0.09,
        p99_ttft_ms: ttft,
        p99_tpot_ms: 100,
        mean_e2el_ms: 30000,
        kv_peak_used_blocks: 1885,
        kv_mean_used_fraction: 0.8,
        mean_batch_size: 2.7,
        preemptions,
        cost_per_million_output_tokens_usd: 6,
        fusion: freed === null ? null : { blocks_freed: 100, fused_fraction: freed, overhead_s: 0 },
      }) as Judged['projection'];
    const check = (ttft: number) => [
      { metric: 'p99_ttft_ms', label: 'p99 TTFT', value: ttft, limit: 10000, ok: ttft <= 10000 },
    ];
    const base = { projection: proj(14323, 15, null), slo: check(14323) };
    const rows = [
      { threshold: 0.6, projection: proj(7098, 8, 0.239), slo: check(7098) },
      { threshold: 0.7, projection: proj(7098, 8, 0.226), slo: check(7098) },
      { threshold: 0.8, projection: proj(10256, 9, 0.086), slo: check(10256) },
    ];
    const v = verdict(base, rows, 1885, (t) => `error at ${t}`);
    expect(v).toMatch(
      /^fusion decides it: without fusion the SLOs are missed \(p99 TTFT 14323\/10000 ms MISSED; 15 preemptions/,
    );
    expect(v).toMatch(
      /with fusion at threshold 0\.7 they are met \(p99 TTFT 7098\/10000 ms ok; 8 preemptions, 22\.6 % of KV blocks freed\)\. Its price: error at 0\.7\.$/,
    );
    expect(verdict({ projection: proj(9000, 0, null), slo: check(9000) }, rows, 1885, () => '')).toMatch(
      /^the SLOs are met without fusion/,
    );
    const allMiss = rows.map((r) => ({ ...r, slo: check(12000) }));
    expect(verdict(base, allMiss, 1885, () => '')).toMatch(/missed with and without fusion/);
  });
});
