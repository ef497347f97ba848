/**
 * Extracts the fused-MoE kernel measurements the simulator's per-GPU MoE curves are fitted on,
 * once, from a checkout of NVIDIA AIConfigurator (Apache-2.0), into libs/sim/data/kernels/<gpu>/
 * moe.csv with SOURCE-moe.md naming the repository, commit, licence and vLLM version. Numbers only:
 * vLLM's fused MoE kernel (Triton), BF16 weights, experts not tensor-sliced, tokens routed evenly
 * over the experts ("balanced"), every model shape and expert-parallel size measured.
 *
 *   npx tsx calibration/kernels/extract-moe.ts AICONFIGURATOR_CHECKOUT COMMIT
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { MOE_FILE_COLUMNS } from '@kvplan/sim';
import { SOURCES, int, readParquet, us, writeCsv } from './aiconfigurator';

async function main(): Promise<void> {
  const [checkout, commit] = process.argv.slice(2);
  if (!checkout || !commit || !/^[0-9a-f]{40}$/.test(commit)) {
    console.error('usage: extract-moe.ts AICONFIGURATOR_CHECKOUT COMMIT(40 hex)');
    process.exit(2);
  }
  const data = path.join(checkout, 'aic-core/src/aiconfigurator_core/systems/data');
  const outRoot = path.resolve(__dirname, '../../libs/sim/data/kernels');
  const lines: string[] = [];
  for (const s of SOURCES) {
    const file = path.join(data, s.folder, 'moe', 'vllm', s.vllm, 'moe_perf.parquet');
    if (!fs.existsSync(file)) continue;
    const all = await readParquet(file);
    const rows = all
      .filter(
        (r) =>
          r.kernel_source === 'vllm_fused_moe' &&
          r.moe_dtype === 'bfloat16' &&
          int(r.moe_tp_size) === 1 &&
          r.distribution === 'balanced',
      )
      .map((r) => [
        int(r.num_tokens),
        int(r.hidden_size),
        int(r.inter_size),
        int(r.topk),
        int(r.num_experts),
        int(r.moe_ep_size),
        us(r.latency),
      ]);
    if (rows.length === 0) continue;
    writeCsv(path.join(outRoot, s.gpu, 'moe.csv'), MOE_FILE_COLUMNS, rows);
    lines.push(
      `| ${s.gpu} | ${String(all[0]?.device)} | vLLM ${s.vllm} | ${rows.length} | \`systems/data/${s.folder}/moe/vllm/${s.vllm}/moe_perf.parquet\` |`,
    );
  }
  fs.writeFileSync(
    path.join(outRoot, 'SOURCE-moe.md'),
    `# Fused-MoE kernel measurements: source

Measured latencies of vLLM's fused MoE kernel per GPU, extracted by
\`calibration/kernels/extract-moe.ts\` from NVIDIA AIConfigurator,
<https://github.com/ai-dynamo/aiconfigurator>, commit \`${commit}\`, licensed under the Apache
License 2.0 (Copyright (c) 2026 NVIDIA CORPORATION & AFFILIATES). Numbers only: BF16 weights,
experts not tensor-sliced (\`moe_tp_size\` 1), tokens routed evenly over the experts
(\`balanced\`), latency in microseconds. No code of that project is used.

| kvplan name | device | engine | rows | source file |
| --- | --- | --- | ---: | --- |
${lines.join('\n')}

\`moe.csv\`: one MoE layer's experts (gate-up, activation, down) for \`num_tokens\` tokens routed
\`topk\` ways over \`num_experts\` experts of \`hidden_size\` x \`inter_size\`, \`ep_size\`
expert-parallel ranks (this rank holds num_experts / ep_size of them).
`,
  );
}

void main();
