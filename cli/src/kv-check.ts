import { InputError, type InputIssue } from '@kvplan/sim';
import type { KvLayer, KvSampleInfo, KvSource } from '@kvplan/fusion';

/**
 * A KV source whose layers are checked for NaN and infinities as they are read (within each
 * sequence's length: padding is never used). A bad value is bad input naming the tensor and the
 * index of its first non-finite element, never a "perfect" fusion result computed from NaN.
 */
export function finiteKvSource(source: KvSource, file: string): KvSource {
  return {
    info: source.info,
    readLayer(l: number): KvLayer {
      const layer = source.readLayer(l);
      const issues = nonFiniteIssues(layer, source.info, file);
      if (issues.length) throw new InputError(issues);
      return layer;
    },
    close: () => source.close?.(),
  };
}

/** One issue per tensor of the layer holding a non-finite value: its name, the first index, the count. */
export function nonFiniteIssues(layer: KvLayer, info: KvSampleInfo, file: string): InputIssue[] {
  const issues: InputIssue[] = [];
  const h = info.numKvHeads;
  const d = info.headDim;
  const perSeq = info.maxBlocks * info.blockSize * h * d;
  const kvShape = [info.numSeqs, info.maxBlocks, info.blockSize, h, d];
  for (const [name, data] of [
    ['key', layer.key],
    ['value', layer.value],
  ] as const) {
    let first = -1;
    let count = 0;
    for (let s = 0; s < info.numSeqs; s++) {
      const end = s * perSeq + Math.min(info.seqLens[s], info.maxBlocks * info.blockSize) * h * d;
      for (let i = s * perSeq; i < end; i++)
        if (!Number.isFinite(data[i])) {
          if (first < 0) first = i;
          count++;
        }
    }
    if (first >= 0)
      issues.push(issue(file, `layers.${layer.layer}.${name}`, data[first], first, kvShape, count));
  }
  if (layer.query) {
    const q = layer.query;
    const qShape = [
      info.numSeqs,
      info.numQueries,
      q.length / Math.max(info.numSeqs * info.numQueries * d, 1),
      d,
    ];
    let first = -1;
    let count = 0;
    for (let i = 0; i < q.length; i++)
      if (!Number.isFinite(q[i])) {
        if (first < 0) first = i;
        count++;
      }
    if (first >= 0) issues.push(issue(file, `layers.${layer.layer}.query`, q[first], first, qShape, count));
  }
  return issues;
}

function issue(
  file: string,
  tensor: string,
  v: number,
  flat: number,
  shape: number[],
  count: number,
): InputIssue {
  const idx: number[] = [];
  let rest = flat;
  for (let k = shape.length - 1; k >= 0; k--) {
    idx.unshift(rest % shape[k]);
    rest = Math.floor(rest / shape[k]);
  }
  return {
    path: `${file}: ${tensor}`,
    message: `${v} at [${idx.join(', ')}]${count > 1 ? ` (and ${count - 1} more non-finite values)` : ''}; KV tensors must be finite`,
  };
}
