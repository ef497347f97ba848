/**
 * Fits the per-GPU kernel efficiency curves on the measured kernel latencies committed under
 * libs/sim/data/kernels/<gpu>/ (see SOURCE.md there) and reports each fit's error per GPU and
 * kernel class. Writes the curves to libs/sim/src/hardware/fitted-kernel-curves.json (what the
 * simulator reads) and the errors to bench/results/kernel-fit.json.
 *
 *   npx tsx calibration/kernels/fit.ts
 *
 * Exit 2 (naming the file) when a measurement file lacks a column or holds a bad number.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { InputError, findGpuPreset, fitGpuKernels, medianCurves, type GpuKernelFit } from '@kvplan/sim';
import { KERNEL_DATA_DIR, MEASURED_PRESETS, ROOT as root, loadKernelRows } from './data';

function main(): void {
  const fits: GpuKernelFit[] = [];
  try {
    for (const [gpu, presetId] of Object.entries(MEASURED_PRESETS)) {
      const preset = findGpuPreset(presetId);
      if (!preset) throw new InputError(`${gpu}: no GPU preset ${presetId}`);
      fits.push(fitGpuKernels(gpu, preset, loadKernelRows(path.join(KERNEL_DATA_DIR, gpu))));
    }
  } catch (err) {
    if (err instanceof InputError) {
      console.error(err.message);
      process.exit(2);
    }
    throw err;
  }
  const generic = medianCurves(fits.map((f) => f.curves));
  const pct = (v: number) => `${(v * 100).toFixed(1)}%`;
  const classes = [...new Set(fits.flatMap((f) => Object.keys(f.errors)))];
  console.log('mean |relative error| of each fitted curve on its measurements (median in brackets)\n');
  console.log(`| GPU | ${classes.join(' | ')} |`);
  console.log(`| --- | ${classes.map(() => '---:').join(' | ')} |`);
  for (const f of fits)
    console.log(
      `| ${f.curves.gpu} | ${classes.map((c) => (f.errors[c] ? `${pct(f.errors[c].mean)} (${pct(f.errors[c].median)})` : '-')).join(' | ')} |`,
    );
  fs.writeFileSync(
    path.join(root, 'libs/sim/src/hardware/fitted-kernel-curves.json'),
    JSON.stringify({ format: 'kvplan-kernel-curves/2', gpus: fits.map((f) => f.curves), generic }) + '\n',
  );
  fs.mkdirSync(path.join(root, 'bench/results'), { recursive: true });
  fs.writeFileSync(
    path.join(root, 'bench/results/kernel-fit.json'),
    JSON.stringify(
      {
        what: 'mean, median and p90 |relative error| of each per-GPU kernel curve on the measurements it was fitted on',
        target: 0.1,
        gpus: Object.fromEntries(
          fits.map((f) => [f.curves.gpu, { preset: f.curves.preset, errors: f.errors }]),
        ),
      },
      null,
      2,
    ) + '\n',
  );
}

main();
