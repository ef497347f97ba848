import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { writeRandomModelFolder } from '@kvplan/model';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from './run-cli';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kvplan-model-cli-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

const run = (argv: string[]) => runCli(argv, dir);

const CONFIG = {
  architectures: ['LlamaForCausalLM'],
  model_type: 'llama',
  vocab_size: 128,
  hidden_size: 32,
  intermediate_size: 64,
  num_hidden_layers: 5,
  num_attention_heads: 4,
  num_key_value_heads: 2,
  max_position_embeddings: 64,
  rope_theta: 10000,
  rms_norm_eps: 1e-5,
  tie_word_embeddings: true,
  eos_token_id: 1,
};

function promptsFile(name: string, lengths: number[]): string {
  const lines = lengths.map((n, i) =>
    JSON.stringify({ token_ids: Array.from({ length: n }, (_, k) => 2 + ((k * 7 + i * 13) % 120)) }),
  );
  fs.writeFileSync(path.join(dir, name), lines.join('\n') + '\n');
  return name;
}

beforeAll(() => {
  writeRandomModelFolder(path.join(dir, 'tiny'), CONFIG, { seed: 3, dtype: 'F32', std: 0.3, shards: 2 });
  promptsFile('p.jsonl', [30, 26, 28, 33]);
});

describe('kvplan model', () => {
  it('info describes the folder', async () => {
    const r = await run(['model', 'info', '--model', 'tiny', '--json']);
    expect(r.code).toBe(0);
    const doc = JSON.parse(r.stdout);
    expect(doc).toMatchObject({ model: 'tiny', fitsWasmHeap: true, storedDtypes: ['F32'], tokenizer: false });
    expect(doc.files).toHaveLength(2);
    expect(doc.config.numKvHeads).toBe(2);
  });

  it('capture writes a kvplan-kv/1 sample that kv info reads', async () => {
    const r = await run([
      'model',
      'capture',
      '--model',
      'tiny',
      '--prompts',
      'p.jsonl',
      '--out',
      'kv.safetensors',
      '--block-size',
      '4',
      '--json',
    ]);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ numSeqs: 4, numLayers: 5, numQueries: 4, tokens: 117 });
    const i = await run(['kv', 'info', 'kv.safetensors', '--json']);
    expect(i.code).toBe(0);
    expect(JSON.parse(i.stdout)).toMatchObject({
      seqLens: [30, 26, 28, 33],
      positions: [0, 0, 0, 0],
      synthetic: false,
      model: 'tiny',
    });
  });

  it('eval-fusion: nothing fuses at 1 (perfect), the cache collapses at -1; writes a profile', async () => {
    const r = await run([
      'model',
      'eval-fusion',
      '--model',
      'tiny',
      '--prompts',
      'p.jsonl',
      '--threshold=1,-1',
      '--block-size',
      '4',
      '--continuation',
      '6',
      '--generate',
      '4',
      '--skip-first',
      '1',
      '--skip-last',
      '1',
      '--profile',
      'profile.json',
      '--json',
    ]);
    expect(r.stderr).not.toMatch(/error/);
    expect(r.code).toBe(0);
    const doc = JSON.parse(r.stdout);
    expect(doc.format).toBe('kvplan-model-eval/1');
    expect(doc.sample).toBeUndefined();
    const [one, minus] = doc.thresholds;
    expect(one.nextTokenAgreement.value).toBe(1);
    expect(one.klDivergence.value).toBe(0);
    expect(one.greedyExactMatch.value).toBe(1);
    expect(minus.compressionRatio).toBeGreaterThan(2);
    expect(minus.klDivergence.value).toBeGreaterThan(0);
    const profile = JSON.parse(fs.readFileSync(path.join(dir, 'profile.json'), 'utf8'));
    expect(profile).toMatchObject({
      format: 'kvplan-fusion-profile/1',
      source: 'model',
      model: 'tiny',
      fusedLayers: [1, 2, 3],
    });
    expect(
      profile.accuracy.find(
        (a: { metric: string; threshold: number }) =>
          a.metric === 'next-token-agreement' && a.threshold === 1,
      ),
    ).toMatchObject({
      value: 1,
      how: expect.stringMatching(/^measured on tiny, 4 prompts/),
    });
  });

  describe('bad input: exit 2, a message naming the problem, no output', () => {
    const expectBad = async (argv: string[], pattern: RegExp, out?: string) => {
      const r = await run(argv);
      expect(r.code).toBe(2);
      expect(r.stdout).toBe('');
      expect(r.stderr).toMatch(pattern);
      if (out) expect(fs.existsSync(path.join(dir, out))).toBe(false);
    };

    it('a missing shard', async () => {
      writeRandomModelFolder(path.join(dir, 'noshard'), CONFIG, { dtype: 'BF16', shards: 2 });
      fs.rmSync(path.join(dir, 'noshard', 'model-00002-of-00002.safetensors'));
      await expectBad(
        ['model', 'capture', '--model', 'noshard', '--prompts', 'p.jsonl', '--out', 'a.safetensors'],
        /noshard\/model-00002-of-00002\.safetensors: shard is missing/,
        'a.safetensors',
      );
    });

    it('a missing folder is named as typed, once', async () => {
      const r = await run(['model', 'info', '--model', 'nosuch/']);
      expect(r.code).toBe(2);
      expect(r.stderr).toMatch(/nosuch: model folder does not exist/);
      expect(r.stderr).not.toContain(dir);
    });

    it('a config field of the wrong type', async () => {
      writeRandomModelFolder(path.join(dir, 'badcfg'), CONFIG, { dtype: 'BF16' });
      fs.writeFileSync(
        path.join(dir, 'badcfg', 'config.json'),
        JSON.stringify({ ...CONFIG, num_attention_heads: 'four' }),
      );
      await expectBad(
        ['model', 'eval-fusion', '--model', 'badcfg', '--prompts', 'p.jsonl'],
        /badcfg\/config\.json:num_attention_heads: expected a positive integer, got "four"/,
      );
    });

    it('a tensor whose shape disagrees with the config', async () => {
      writeRandomModelFolder(path.join(dir, 'badshape'), CONFIG, { dtype: 'BF16' });
      fs.writeFileSync(
        path.join(dir, 'badshape', 'config.json'),
        JSON.stringify({ ...CONFIG, intermediate_size: 48 }),
      );
      await expectBad(
        ['model', 'capture', '--model', 'badshape', '--prompts', 'p.jsonl', '--out', 'b.safetensors'],
        /model\.layers\.0\.mlp\.gate_proj\.weight: shape \[64, 32\] disagrees with config\.json: expected \[48, 32\]/,
        'b.safetensors',
      );
    });

    it('a prompt longer than the context, and a text prompt without a tokenizer', async () => {
      promptsFile('long.jsonl', [20, 70]);
      fs.appendFileSync(path.join(dir, 'long.jsonl'), '{"text": "hello"}\n');
      await expectBad(
        ['model', 'capture', '--model', 'tiny', '--prompts', 'long.jsonl', '--out', 'c.safetensors'],
        /long\.jsonl:2: 70 tokens is longer than the model's context of 64 tokens[\s\S]*long\.jsonl:3: text prompt, but the model folder has no tokenizer\.json/,
        'c.safetensors',
      );
    });

    it('bad flags and settings', async () => {
      await expectBad(['model', 'eval-fusion', '--prompts', 'p.jsonl'], /--model: required/);
      await expectBad(
        ['model', 'eval-fusion', '--model', 'tiny', '--prompts', 'p.jsonl', '--continuation', '40'],
        /p\.jsonl:1: 30 tokens; at least 41 are needed/,
      );
      await expectBad(
        [
          'model',
          'eval-fusion',
          '--model',
          'tiny',
          '--prompts',
          'p.jsonl',
          '--mode',
          'cff',
          '--chunk-tokens',
          '16',
          '--window',
          '4',
        ],
        /--window: a window of 4 chunks x 16 tokens/,
      );
      await expectBad(['model', 'fit'], /expected info, capture or eval-fusion/);
    });
  });
});
