/**
 * One-layer timings of bench:fusion's 64 x 32-block case (Llama-3.1-8B shaped, synthetic seed 1,
 * BFF at 0.7, attention probe off): `npx tsx bench/fusion-layers.ts [--layers 4,5,6]
 * [--search sketch|dense]` prints one JSON line per layer (wall and process CPU seconds, the
 * phases, surviving blocks). Small enough to run at two commits, interleaved, for a same-run
 * ratio on a loaded machine (bench/results/fusion-sketch-ab.json).
 */
import * as os from 'node:os';
import { planThreads } from '@kvplan/core';
import {
  fuseLayer,
  resolveFusionOptions,
  selectSimilarityKernel,
  selectTfBackend,
  synthesizeKvSample,
} from '@kvplan/fusion';

const arg = (name: string, dflt: string): string => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : dflt;
};

async function main(): Promise<void> {
  const clock = (): number => performance.now();
  await selectTfBackend({ wanted: process.env.KVPLAN_TF_BACKEND, log: () => undefined });
  const { kernel } = await selectSimilarityKernel({
    wanted: process.env.KVPLAN_SIMILARITY_KERNEL,
    threads: planThreads(os.availableParallelism(), 1).kernelThreads,
  });
  const sample = synthesizeKvSample({
    numSeqs: 64,
    blocksPerSeq: 32,
    numLayers: 32,
    blockSize: 16,
    numKvHeads: 8,
    headDim: 128,
    model: 'meta-llama/Llama-3.1-8B',
    seed: 1,
  });
  const search = arg('search', 'sketch') as 'sketch' | 'dense';
  for (const l of arg('layers', '4,5,6').split(',').map(Number)) {
    const layer = sample.readLayer(l);
    const o = resolveFusionOptions(
      { thresholds: [0.7], search, attention: false, clock, kernel, sketchMinItems: 0 },
      sample.info,
    );
    const c0 = process.cpuUsage();
    const r = fuseLayer(layer, sample.info, o);
    const cpu = process.cpuUsage(c0);
    const t = r.thresholds[0];
    process.stdout.write(
      JSON.stringify({
        layer: l,
        seconds: r.seconds,
        cpuSeconds: (cpu.user + cpu.system) / 1e6,
        prepareSeconds: r.prepareSeconds,
        phases: t.phases,
        surviving: t.survivingBlocks,
        candidates: r.search.candidates,
        load: os.loadavg()[0],
      }) + '\n',
    );
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`fusion-layers failed: ${(err as Error).stack ?? String(err)}\n`);
  process.exitCode = 1;
});
