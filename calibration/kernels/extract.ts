/**
 * Extracts the kernel-level measurements the simulator's per-GPU curves are fitted on, once, from
 * a checkout of NVIDIA AIConfigurator (Apache-2.0), into small CSV files under
 * libs/sim/data/kernels/<gpu>/ with a SOURCE.md naming the repository, commit, licence and vLLM
 * version of every file. Only numbers are carried over, and only the rows the fit uses.
 *
 *   npx tsx calibration/kernels/extract.ts AICONFIGURATOR_CHECKOUT COMMIT
 *
 * AICONFIGURATOR_CHECKOUT is a folder holding `aic-core/src/aiconfigurator_core/systems/data`
 * (the parquet files; the `.txt` files beside them are Git LFS pointers and not read).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { SOURCES, int, readParquet, us, writeCsv } from './aiconfigurator';

const isPow2 = (x: number) => x > 0 && (x & (x - 1)) === 0;
/** Heads per GPU seen in practice (dense models split over TP 1-8). */
const HEADS = new Set([8, 16, 32, 64]);

async function main(): Promise<void> {
  const [checkout, commit] = process.argv.slice(2);
  if (!checkout || !commit || !/^[0-9a-f]{40}$/.test(commit)) {
    console.error('usage: extract.ts AICONFIGURATOR_CHECKOUT COMMIT(40 hex)');
    process.exit(2);
  }
  const data = path.join(checkout, 'aic-core/src/aiconfigurator_core/systems/data');
  const outRoot = path.resolve(__dirname, '../../libs/sim/data/kernels');
  const lines: string[] = [];
  for (const s of SOURCES) {
    const dir = path.join(outRoot, s.gpu);
    fs.mkdirSync(dir, { recursive: true });
    const src = (kind: string, file: string) => path.join(data, s.folder, kind, 'vllm', s.vllm, file);

    // GEMM, BF16: power-of-two token counts, weight matrices of 32 MiB or more (the size of a
    // serving model's per-layer GEMMs; smaller ones sit in L2 and would not stream from DRAM).
    const gemm = (await readParquet(src('gemm', 'gemm_perf.parquet')))
      .filter((r) => r.gemm_dtype === 'bfloat16')
      .map((r) => [int(r.m), int(r.n), int(r.k), us(r.latency)])
      .filter(([m, n, k]) => isPow2(m) && m <= 16384 && n >= 1024 && k >= 1024 && n * k >= 1 << 24);
    writeCsv(path.join(dir, 'gemm.csv'), ['m', 'n', 'k', 'latency_us'], gemm);

    // Attention with a BF16 KV cache, head_dim 128, the heads per GPU of common TP splits.
    const attn = (file: string, ctx: boolean) =>
      readParquet(src('attention', file)).then((rows) =>
        rows
          .filter(
            (r) =>
              r.kv_cache_dtype === 'bfloat16' &&
              int(r.head_dim) === 128 &&
              HEADS.has(int(r.num_heads)) &&
              int(r.num_key_value_heads) <= int(r.num_heads),
          )
          .map((r) => [
            int(r.batch_size),
            // context: the prompt length; generation: tokens in the KV cache (prompt + steps so far)
            ctx ? int(r.isl) : int(r.isl) + int(r.step),
            int(r.num_heads),
            int(r.num_key_value_heads),
            int(r.head_dim),
            us(r.latency),
          ]),
      );
    writeCsv(
      path.join(dir, 'context_attention.csv'),
      ['batch', 'seq_len', 'num_heads', 'num_kv_heads', 'head_dim', 'latency_us'],
      await attn('context_attention_perf.parquet', true),
    );
    writeCsv(
      path.join(dir, 'generation_attention.csv'),
      ['batch', 'kv_len', 'num_heads', 'num_kv_heads', 'head_dim', 'latency_us'],
      await attn('generation_attention_perf.parquet', false),
    );

    // All-reduce of BF16 tensors under CUDA graphs (how vLLM runs decode steps).
    const ar = (await readParquet(src('comm', 'custom_allreduce_perf.parquet')))
      .filter((r) => r.backend === 'vllm_graph' && r.allreduce_dtype === 'bfloat16')
      .map((r) => [int(r.num_gpus), int(r.message_size) * 2, us(r.latency)]);
    writeCsv(path.join(dir, 'allreduce.csv'), ['num_gpus', 'message_bytes', 'latency_us'], ar);

    const device = (await readParquet(src('comm', 'custom_allreduce_perf.parquet')))[0]?.device;
    lines.push(
      `| ${s.gpu} | ${String(device)} | vLLM ${s.vllm} | ${gemm.length} | \`systems/data/${s.folder}/{gemm,attention,comm}/vllm/${s.vllm}/*.parquet\` |`,
    );
  }
  fs.writeFileSync(
    path.join(outRoot, 'SOURCE.md'),
    `# Kernel measurements: source

Measured kernel latencies per GPU, extracted by \`calibration/kernels/extract.ts\` from NVIDIA
AIConfigurator, <https://github.com/ai-dynamo/aiconfigurator>, commit \`${commit}\`, licensed
under the Apache License 2.0 (Copyright (c) 2026 NVIDIA CORPORATION & AFFILIATES). Numbers only:
the rows the simulator's per-GPU curves are fitted on, units converted (latency in
microseconds, all-reduce message size in bytes of BF16 data). No code of that project is used.

| kvplan name | device | engine | GEMM rows | source files |
| --- | --- | --- | ---: | --- |
${lines.join('\n')}

Files per GPU: \`gemm.csv\` (BF16, m x k times k x n), \`context_attention.csv\` (prefill attention
of \`batch\` prompts of \`seq_len\` tokens, BF16 KV cache), \`generation_attention.csv\` (one decode
step of \`batch\` sequences with \`kv_len\` tokens in the cache), \`allreduce.csv\` (vLLM's custom
all-reduce under CUDA graphs).
`,
  );
}

void main();
