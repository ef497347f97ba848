import * as fs from 'node:fs';
import * as path from 'node:path';
import { Sfc32 } from '@kvplan/core';
import { parseLlamaConfig } from './config';
import { writeSafetensors, type TensorToWrite, type WeightDtype } from './safetensors';
import { expectedTensors } from './weights';

export interface RandomModelOptions {
  seed?: number;
  /** Stored element type (default BF16, as most checkpoints). */
  dtype?: WeightDtype;
  /** Standard deviation of the linear weights and the embedding (default 0.02, Hugging Face's init). */
  std?: number;
  /** Split the tensors over this many shards with a model.safetensors.index.json (default 1). */
  shards?: number;
}

/**
 * Writes a Hugging Face folder (config.json and safetensors) of a Llama-family model with random
 * weights from a seeded generator: for benchmarks and tests of the loading path, never for
 * accuracy numbers. Norm weights are 1, biases small. Returns the files written.
 */
export function writeRandomModelFolder(
  dir: string,
  config: Record<string, unknown>,
  opts: RandomModelOptions = {},
): string[] {
  const cfg = parseLlamaConfig(config);
  const rng = new Sfc32(opts.seed ?? 1);
  const dtype = opts.dtype ?? 'BF16';
  const std = opts.std ?? 0.02;
  const tensors: TensorToWrite[] = expectedTensors(cfg).map((e) => {
    const n = e.shape.reduce((a, b) => a * b, 1);
    const data = new Float32Array(n);
    if (e.name.endsWith('norm.weight')) data.fill(1);
    else rng.addNormal(data, e.name.endsWith('.bias') ? std / 4 : std);
    return { name: e.name, dtype, shape: e.shape, data };
  });
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, 'config.json'), JSON.stringify(config, null, 2) + '\n');
  const shards = Math.max(1, Math.floor(opts.shards ?? 1));
  if (shards === 1) {
    writeSafetensors(path.join(dir, 'model.safetensors'), tensors, { format: 'pt' });
    return ['config.json', 'model.safetensors'];
  }
  const per = Math.ceil(tensors.length / shards);
  const files: string[] = [];
  const weightMap: Record<string, string> = {};
  for (let s = 0; s < shards; s++) {
    const name = `model-${String(s + 1).padStart(5, '0')}-of-${String(shards).padStart(5, '0')}.safetensors`;
    const part = tensors.slice(s * per, (s + 1) * per);
    writeSafetensors(path.join(dir, name), part, { format: 'pt' });
    for (const t of part) weightMap[t.name] = name;
    files.push(name);
  }
  fs.writeFileSync(
    path.join(dir, 'model.safetensors.index.json'),
    JSON.stringify({ metadata: {}, weight_map: weightMap }, null, 2) + '\n',
  );
  return ['config.json', ...files, 'model.safetensors.index.json'];
}
