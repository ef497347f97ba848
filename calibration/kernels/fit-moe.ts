/**
 * npm run calibrate:moe-kernels — fits each measured GPU's fused-MoE curve on its moe.csv
 * (libs/sim/data/kernels/<gpu>/, SOURCE-moe.md) and writes libs/sim/src/hardware/fitted-moe-curves.json
 * with each curve's error on its measurements and, fitted again without them, on the held-out
 * fifth of the shapes (moeHoldoutShape: every token count of one model's experts at one
 * expert-parallel size). Prints both, and the error of the written curves by measured axis.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import {
  findGpuPreset,
  fitMoeCurve,
  moeCurveError,
  moeHoldoutShape,
  moeRelErrors,
  moeSamples,
  type MoeCurveFile,
} from '@kvplan/sim';
import { KERNEL_DATA_DIR, MEASURED_PRESETS, ROOT, readMoeCsv } from './data';

const pct = (v: number) => `${(v * 100).toFixed(1)} %`;

/** Mean |relative error| by each value of a row's column (or derived key). */
function breakdown(
  rows: Array<Record<string, number>>,
  errs: number[],
  key: (r: Record<string, number>) => number,
) {
  const groups = new Map<number, number[]>();
  rows.forEach((r, i) => groups.set(key(r), [...(groups.get(key(r)) ?? []), errs[i]]));
  return [...groups]
    .sort((a, b) => a[0] - b[0])
    .map(([k, v]) => `${k}: ${((v.reduce((a, b) => a + b, 0) / v.length) * 100).toFixed(0)}`)
    .join(', ');
}

function main(): void {
  const out: MoeCurveFile = { format: 'kvplan-moe-curves/2', gpus: [] };
  for (const [gpu, presetId] of Object.entries(MEASURED_PRESETS)) {
    const file = path.join(KERNEL_DATA_DIR, gpu, 'moe.csv');
    if (!fs.existsSync(file)) continue;
    const preset = findGpuPreset(presetId)!;
    const bw = preset.memoryBandwidthGBps * 1e9;
    const peak = preset.bf16Tflops * 1e12;
    const rows = readMoeCsv(file);
    const { moe, error } = fitMoeCurve(rows, preset);
    const held = moeHoldoutShape(rows);
    const train = fitMoeCurve(
      rows.filter((r) => !held(r)),
      preset,
    );
    const heldOut = moeCurveError(train.moe, moeSamples(rows.filter(held)), bw, peak);
    out.gpus.push({ gpu, preset: presetId, moe, error, heldOut });
    console.log(
      `${gpu}: ${error.samples} calls, mean |relative error| ${pct(error.mean)}, median ${pct(error.median)}, p90 ${pct(error.p90)}; ` +
        `held-out fifth of the shapes (${heldOut.samples} calls): mean ${pct(heldOut.mean)}, median ${pct(heldOut.median)} ` +
        `(the fit without them: ${pct(train.error.mean)} on the rest)`,
    );
    const errs = moeRelErrors(moe, moeSamples(rows), bw, peak);
    console.log(`  by tokens: ${breakdown(rows, errs, (r) => r.num_tokens)}`);
    console.log(`  by ep_size: ${breakdown(rows, errs, (r) => r.ep_size)}`);
    console.log(`  by topk: ${breakdown(rows, errs, (r) => r.topk)}`);
    console.log(`  by experts: ${breakdown(rows, errs, (r) => r.num_experts)}`);
    console.log(`  by inter_size: ${breakdown(rows, errs, (r) => r.inter_size)}`);
  }
  fs.writeFileSync(
    path.join(ROOT, 'libs/sim/src/hardware/fitted-moe-curves.json'),
    JSON.stringify(out, null, 2) + '\n',
  );
}

main();
