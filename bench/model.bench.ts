/**
 * npm run bench:model — real-model path speed (issue "Real models: KV capture and measured
 * accuracy under fusion"). Prints a table and writes bench/results/model.json.
 * Two random Llama models written as Hugging Face folders (bf16 safetensors) into a temporary
 * directory, loaded through the real loading path, on the tfjs backend KVPLAN_TF_BACKEND picks
 * (auto: tfjs-node-gpu, tfjs-node, else wasm):
 *  - tiny: 6 layers, hidden 64, 4 heads / 2 KV heads, vocab 300 (the tests' size);
 *  - ~100M: 12 layers, hidden 768, 12 heads / 4 KV heads (head dim 64), MLP 2048, vocab 32000,
 *    tied embeddings.
 * Per model: folder write and load time; prefill tokens/s (batch 8 x 128 tokens, best of 3 after
 * a warm-up); decode tokens/s (batch 8, one token per step); the fusion evaluation of 8 prompts
 * (128-token prefix + 16-token continuation, 16 greedy tokens, BFF over the batch, thresholds
 * 0.7 and 0): total time and its phases. Random weights: the accuracy numbers mean nothing here,
 * only the times do. Options: --only tiny|100m, --prompts N, --tokens T.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Sfc32 } from '@kvplan/core';
import { selectTfBackend } from '@kvplan/fusion';
import {
  evaluateFusion,
  loadModel,
  openModelFolder,
  writeRandomModelFolder,
  type LlamaModel,
  type TokenizedPrompt,
} from '@kvplan/model';

const root = path.resolve(__dirname, '..');
const argOf = (name: string): string | undefined => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : undefined;
};
const ONLY = argOf('only');
const PROMPTS = Number(argOf('prompts') ?? 8);
const TOKENS = Number(argOf('tokens') ?? 128);
const CONT = 16;
const GEN = 16;
const clock = (): number => performance.now();

const MODELS: Array<{ id: string; config: Record<string, unknown> }> = [
  {
    id: 'tiny',
    config: {
      architectures: ['LlamaForCausalLM'],
      model_type: 'llama',
      vocab_size: 300,
      hidden_size: 64,
      intermediate_size: 96,
      num_hidden_layers: 6,
      num_attention_heads: 4,
      num_key_value_heads: 2,
      max_position_embeddings: 512,
      rope_theta: 10000,
      rms_norm_eps: 1e-5,
      tie_word_embeddings: false,
      eos_token_id: 1,
    },
  },
  {
    id: '100m',
    config: {
      architectures: ['LlamaForCausalLM'],
      model_type: 'llama',
      vocab_size: 32000,
      hidden_size: 768,
      intermediate_size: 2048,
      num_hidden_layers: 12,
      num_attention_heads: 12,
      num_key_value_heads: 4,
      max_position_embeddings: 2048,
      rope_theta: 500000,
      rope_scaling: {
        rope_type: 'llama3',
        factor: 8,
        low_freq_factor: 1,
        high_freq_factor: 4,
        original_max_position_embeddings: 1024,
      },
      rms_norm_eps: 1e-5,
      tie_word_embeddings: true,
      eos_token_id: 2,
    },
  },
];

function randomPrompts(n: number, len: number, vocab: number, seed: number): number[][] {
  const rng = new Sfc32(seed);
  return Array.from({ length: n }, () => Array.from({ length: len }, () => 3 + rng.int(0, vocab - 4)));
}

function timePrefill(model: LlamaModel, prompts: number[][]): { best: number; runs: number[] } {
  const runs: number[] = [];
  for (let r = 0; r < 4; r++) {
    const t0 = clock();
    const out = model.prefill(prompts);
    out.cache.dispose();
    runs.push((clock() - t0) / 1000);
  }
  const timed = runs.slice(1);
  return { best: Math.min(...timed), runs: timed };
}

function timeDecode(model: LlamaModel, prompts: number[][], steps: number): number {
  const pre = model.prefill(prompts);
  let cache = pre.cache;
  const B = prompts.length;
  const t0 = clock();
  for (let s = 0; s < steps; s++) {
    const r = model.forward(
      { tokens: Int32Array.from({ length: B }, (_, i) => 3 + ((s + i) % 50)), batch: B },
      cache,
      {
        logits: 'last',
      },
    );
    cache.dispose();
    cache = r.cache;
  }
  const sec = (clock() - t0) / 1000;
  cache.dispose();
  return sec;
}

async function main(): Promise<void> {
  const backend = await selectTfBackend({
    wanted: process.env.KVPLAN_TF_BACKEND,
    log: (line) => process.stderr.write(`bench:model: ${line}\n`),
  });
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'kvplan-bench-model-'));
  const results: Array<Record<string, unknown>> = [];
  try {
    for (const m of MODELS) {
      if (ONLY && ONLY !== m.id) continue;
      const dir = path.join(tmp, m.id);
      let t0 = clock();
      writeRandomModelFolder(dir, m.config, { seed: 1, dtype: 'BF16', std: 0.02 });
      const writeSeconds = (clock() - t0) / 1000;
      t0 = clock();
      const folder = openModelFolder(dir);
      const model = loadModel(folder, { backendName: backend.backend });
      const loadSeconds = (clock() - t0) / 1000;
      try {
        const vocab = (m.config.vocab_size as number) - 1;
        const prefillPrompts = randomPrompts(PROMPTS, TOKENS, vocab, 2);
        process.stderr.write(
          `bench:model: ${m.id} (${(folder.numParameters / 1e6).toFixed(1)}M parameters): prefill\n`,
        );
        const prefill = timePrefill(model, prefillPrompts);
        const decodeSteps = 16;
        const decodeSeconds = timeDecode(model, prefillPrompts, decodeSteps);
        process.stderr.write(`bench:model: ${m.id}: fusion evaluation\n`);
        const evalPrompts: TokenizedPrompt[] = randomPrompts(PROMPTS, TOKENS + CONT, vocab, 3).map(
          (tokens, i) => ({
            id: String(i),
            where: `prompt ${i}`,
            tokens,
            tenant: null,
          }),
        );
        t0 = clock();
        const ev = await evaluateFusion(model, evalPrompts, {
          thresholds: [0.7, 0],
          continuationTokens: CONT,
          generateTokens: GEN,
          batchSize: PROMPTS,
          blockSize: 16,
          keepSample: false,
          clock,
        });
        const evalSeconds = (clock() - t0) / 1000;
        const tokens = PROMPTS * TOKENS;
        results.push({
          model: m.id,
          parameters: folder.numParameters,
          config: m.config,
          writeSeconds: round(writeSeconds),
          loadSeconds: round(loadSeconds),
          prefill: {
            batch: PROMPTS,
            tokensPerPrompt: TOKENS,
            seconds: round(prefill.best),
            runs: prefill.runs.map(round),
            tokensPerSecond: round(tokens / prefill.best, 1),
          },
          decode: {
            batch: PROMPTS,
            steps: decodeSteps,
            seconds: round(decodeSeconds),
            tokensPerSecond: round((PROMPTS * decodeSteps) / decodeSeconds, 1),
          },
          fusionEvaluation: {
            prompts: PROMPTS,
            prefixTokens: TOKENS,
            continuationTokens: CONT,
            generateTokens: GEN,
            thresholds: [0.7, 0],
            mode: 'bff',
            seconds: round(evalSeconds),
            phases: ev.seconds
              ? Object.fromEntries(Object.entries(ev.seconds).map(([k, v]) => [k, round(v)]))
              : null,
            compressionRatio: ev.thresholds.map((t) =>
              t.compressionRatio === null ? null : round(t.compressionRatio),
            ),
          },
        });
      } finally {
        model.dispose();
        fs.rmSync(dir, { recursive: true, force: true });
      }
    }
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
  const doc = {
    benchmark: 'model',
    machine: {
      cpus: os.cpus().length,
      cpuModel: os.cpus()[0]?.model ?? 'unknown',
      loadAvg: os.loadavg().map((x) => round(x, 2)),
      node: process.version,
      tfBackend: backend.backend,
    },
    notes:
      'random bf16 weights converted to float32 at load; prefill: one left-padded batch, best of 3 after a warm-up, last-token logits only; decode: one token per row per step against the cache; fusion evaluation: prefill + original continuation and greedy run + per threshold (fusion with reconstruction, fused continuation and greedy run)',
    results,
  };
  const header = [
    'model',
    'params',
    'load s',
    'prefill tok/s',
    'decode tok/s',
    'fusion eval s',
    'prefill / original / fusion / fused runs s',
  ];
  const rows = results.map((r) => {
    const p = r.prefill as { tokensPerSecond: number };
    const d = r.decode as { tokensPerSecond: number };
    const f = r.fusionEvaluation as { seconds: number; phases: Record<string, number> | null };
    const ph = f.phases;
    return [
      String(r.model),
      `${((r.parameters as number) / 1e6).toFixed(1)}M`,
      String(r.loadSeconds),
      String(p.tokensPerSecond),
      String(d.tokensPerSecond),
      String(f.seconds),
      ph ? `${ph.prefill} / ${ph.original} / ${ph.fusion} / ${ph.fusedRuns}` : '-',
    ];
  });
  const width = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (r: string[]): string => r.map((c, i) => c.padEnd(width[i])).join('  ');
  process.stdout.write(
    [line(header), line(width.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n') + '\n',
  );
  const out = path.join(root, 'bench', 'results', 'model.json');
  fs.mkdirSync(path.dirname(out), { recursive: true });
  fs.writeFileSync(out, JSON.stringify(doc, null, 2) + '\n');
  process.stdout.write(
    `\nwrote ${path.relative(root, out)} (${backend.backend} backend, ${doc.machine.cpus} CPUs)\n`,
  );
}

function round(x: number, d = 3): number {
  return Number(x.toFixed(d));
}

main().catch((err: unknown) => {
  process.stderr.write(`bench:model: ${(err as Error).stack ?? String(err)}\n`);
  process.exitCode = 1;
});
