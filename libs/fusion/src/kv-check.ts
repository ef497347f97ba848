import type { InputIssue } from '@kvplan/core';
import type { KvLayer, KvSampleInfo } from './kv-types';

/**
 * NaN and infinities in a layer read from a file (within each sequence's length: padding is never
 * used), one issue per tensor holding any: its name, the index of the first, the count. The
 * reader refuses such a layer (bad input), so no caller ever gets a "perfect" fusion result
 * computed from NaN. One pass of x * 0 sums (NaN exactly where some x is not finite); the
 * element-wise search for the first bad index only runs on a tensor that has one.
 */
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
      if (allFinite(data, s * perSeq, end)) continue;
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
    if (!allFinite(q, 0, q.length))
      for (let i = 0; i < q.length; i++)
        if (!Number.isFinite(q[i])) {
          if (first < 0) first = i;
          count++;
        }
    if (first >= 0) issues.push(issue(file, `layers.${layer.layer}.query`, q[first], first, qShape, count));
  }
  return issues;
}

/** Whether x[from, to) holds only finite values (x * 0 is 0 for those, NaN otherwise). */
function allFinite(x: Float32Array, from: number, to: number): boolean {
  let s0 = 0;
  let s1 = 0;
  let i = from;
  for (; i + 1 < to; i += 2) {
    s0 += x[i] * 0;
    s1 += x[i + 1] * 0;
  }
  if (i < to) s0 += x[i] * 0;
  return s0 + s1 === 0;
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
