import { describe, expect, it } from 'vitest';
import { runCli } from './run-cli';

async function run(argv: string[]): Promise<{ code: number; out: string; err: string }> {
  const r = await runCli(argv, process.cwd());
  return { code: r.code, out: r.stdout, err: r.stderr };
}

describe('kvplan models / gpus', () => {
  it('models prints a table of every preset', async () => {
    const r = await run(['models']);
    expect(r.code).toBe(0);
    expect(r.err).toBe('');
    const lines = r.out.trim().split('\n');
    expect(lines[0]).toMatch(/^model\s+layers/);
    expect(lines).toHaveLength(2 + 12);
    expect(r.out).toMatch(/Qwen\/Qwen3-30B-A3B\s+48\s+2048\s+32\/4\s+128\s+8\/128/);
  });

  it('models --json prints one JSON document with derived sizes', async () => {
    const r = await run(['models', '--json']);
    expect(r.code).toBe(0);
    const doc = JSON.parse(r.out) as {
      models: Array<{ id: string; kvBytesPerToken: number; parameters: { total: number } }>;
    };
    const l7 = doc.models.find((m) => m.id === 'meta-llama/Llama-2-7b-hf');
    expect(l7?.kvBytesPerToken).toBe(2 * 32 * 32 * 128 * 2);
    expect(l7?.parameters.total).toBeGreaterThan(6.7e9);
  });

  it('models MODEL describes one, and an unknown one is bad input on stderr only', async () => {
    const one = await run(['models', 'meta-llama/Meta-Llama-3.1-8B-Instruct', '--json']);
    expect(JSON.parse(one.out).models.map((m: { id: string }) => m.id)).toEqual(['meta-llama/Llama-3.1-8B']);
    const bad = await run(['models', 'no-such-model']);
    expect(bad.code).toBe(2);
    expect(bad.out).toBe('');
    expect(bad.err).toMatch(/MODEL: "no-such-model" is neither a model preset/);
  });

  it('gpus prints a table and --json the presets with engine defaults', async () => {
    const t = await run(['gpus']);
    expect(t.code).toBe(0);
    expect(t.out).toMatch(
      /h100-sxm\s+NVIDIA H100 80GB HBM3 SXM\s+79\.15\s+3352\s+989\.5\s+1979\s+900\s+nvlink4 x8\s+2048\s+1024\/8192/,
    );
    const j = await run(['gpus', '--json']);
    const doc = JSON.parse(j.out) as {
      gpus: Array<{ id: string; engineDefaults: { maxNumSeqs: number }; host: { hostToDeviceGBps: number } }>;
    };
    expect(doc.gpus).toHaveLength(10);
    expect(doc.gpus.find((g) => g.id === 'a100-80gb')?.engineDefaults.maxNumSeqs).toBe(256);
    // PCIe Gen4 x16 at 80 % for DMA.
    expect(doc.gpus.find((g) => g.id === 'a100-80gb')?.host.hostToDeviceGBps).toBeCloseTo(25.6, 10);
  });
});
