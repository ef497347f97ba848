/**
 * npm run calibrate:moe-kernels — fits each measured GPU's fused-MoE curve on its moe.csv
 * (libs/sim/data/kernels/<gpu>/, SOURCE-moe.md) and writes libs/sim/src/hardware/fitted-moe-curves.json
 * with each curve's error on its measurements.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { findGpuPreset, fitMoeCurve, type MoeCurveFile } from '@kvplan/sim';
import { KERNEL_DATA_DIR, MEASURED_PRESETS, ROOT, readMoeCsv } from './data';

function main(): void {
  const out: MoeCurveFile = { format: 'kvplan-moe-curves/1', gpus: [] };
  for (const [gpu, presetId] of Object.entries(MEASURED_PRESETS)) {
    const file = path.join(KERNEL_DATA_DIR, gpu, 'moe.csv');
    if (!fs.existsSync(file)) continue;
    const preset = findGpuPreset(presetId)!;
    const { moe, error } = fitMoeCurve(readMoeCsv(file), preset);
    out.gpus.push({ gpu, preset: presetId, moe, error });
    console.log(
      `${gpu}: ${error.samples} calls, mean |relative error| ${(error.mean * 100).toFixed(1)} %, median ${(error.median * 100).toFixed(1)} %`,
    );
  }
  fs.writeFileSync(
    path.join(ROOT, 'libs/sim/src/hardware/fitted-moe-curves.json'),
    JSON.stringify(out, null, 2) + '\n',
  );
}

main();
