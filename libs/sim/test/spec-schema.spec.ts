import * as fs from 'node:fs';
import * as path from 'node:path';
import Ajv from 'ajv';
import * as YAML from 'yaml';
import { describe, expect, it } from 'vitest';
import { parseSimulationSpec } from '../src/simulation-spec';

const repoRoot = path.resolve(__dirname, '..', '..', '..');
const examplesDir = path.join(repoRoot, 'examples');
const schema = JSON.parse(
  fs.readFileSync(path.join(repoRoot, 'libs', 'sim', 'schemas', 'simulation-spec.schema.json'), 'utf8'),
);
const validate = new Ajv({ allErrors: true, strict: true, strictTypes: false }).compile(schema);

const examples = fs
  .readdirSync(examplesDir)
  .filter((f) => /\.(ya?ml|json)$/.test(f))
  .sort();

const minimal = {
  model: 'meta-llama/Llama-3.1-8B',
  gpu: 'h100-sxm',
  workload: { arrival: { rate: 5 }, numRequests: 10, inputTokens: 100, outputTokens: { fixed: 10 } },
};

describe('the simulation spec JSON Schema', () => {
  it('finds the example specs', () => {
    expect(examples.length).toBeGreaterThanOrEqual(3);
  });

  it.each(examples)('examples/%s validates against the schema and resolves', (file) => {
    const text = fs.readFileSync(path.join(examplesDir, file), 'utf8');
    const ok = validate(YAML.parse(text));
    expect(validate.errors ?? []).toEqual([]);
    expect(ok).toBe(true);
    const spec = parseSimulationSpec(text, { fileName: file, baseDir: examplesDir });
    expect(spec.workload.n).toBeGreaterThan(0);
    expect(spec.engine.numGpuBlocks).toBeGreaterThan(0);
  });

  it('accepts a minimal spec, inline models and GPUs', () => {
    expect(validate(minimal)).toBe(true);
    const inline = {
      ...minimal,
      model: {
        num_hidden_layers: 2,
        hidden_size: 64,
        num_attention_heads: 4,
        vocab_size: 10,
        max_position_embeddings: 512,
        rope_theta: 1e4,
      },
      gpu: { name: 'x', memoryGiB: 10, memoryBandwidthGBps: 100, bf16Tflops: 10 },
      workload: { trace: 't.csv' },
    };
    expect(validate(inline)).toBe(true);
  });

  it.each([
    ['an unknown top-level key', { ...minimal, tensorParalel: 2 }],
    ['an unknown engine key', { ...minimal, engine: { blocksize: 16 } }],
    ['an unknown workload key', { ...minimal, workload: { ...minimal.workload, rate: 3 } }],
    ['an unknown fusion key', { ...minimal, fusion: { mode: 'bff', thresh: 0.7 } }],
    [
      'an unknown inline GPU key',
      { ...minimal, gpu: { name: 'x', memoryGiB: 1, memoryBandwidthGBps: 1, bf16Tflops: 1, tdp: 700 } },
    ],
    ['a block size that is not a power of two', { ...minimal, engine: { blockSize: 24 } }],
    ['a utilisation above 1', { ...minimal, engine: { gpuMemoryUtilization: 1.5 } }],
    ['a negative rate', { ...minimal, workload: { ...minimal.workload, arrival: { rate: -1 } } }],
    ['a missing gpu', { model: minimal.model, workload: minimal.workload }],
    ['a fusion threshold above 1', { ...minimal, fusion: { threshold: 1.2 } }],
  ])('rejects %s', (_what, spec) => {
    expect(validate(spec)).toBe(false);
  });

  it('names the unknown key', () => {
    validate({ ...minimal, tensorParalel: 2 });
    expect(
      validate.errors?.some(
        (e) => e.keyword === 'additionalProperties' && e.params.additionalProperty === 'tensorParalel',
      ),
    ).toBe(true);
  });
});
