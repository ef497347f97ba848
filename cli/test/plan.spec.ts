import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli } from './run-cli';

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
});
