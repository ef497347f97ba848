import * as tf from '@tensorflow/tfjs';

/**
 * A (m x D, row-major) times B transposed, where `bt` already holds B transposed (D x n,
 * row-major): one upload of each operand and one matmul, no transpose on the backend. (On wasm,
 * `matMul(a, b, false, true)` is about ten times slower than `matMul(a, transpose(b))`
 * (NOTES-deps.md), and slicing or transposing large tensors there costs more than doing it in
 * JS.) Returns m x n, row-major. No tensor outlives the call.
 */
export function matmulAB(a: Float32Array, m: number, bt: Float32Array, n: number, D: number): Float32Array {
  if (m === 0 || n === 0) return new Float32Array(m * n);
  const out = tf.tidy(() => tf.matMul(tf.tensor2d(a, [m, D]), tf.tensor2d(bt, [D, n])));
  try {
    return out.dataSync() as Float32Array;
  } finally {
    out.dispose();
  }
}

/**
 * matmulAB read back asynchronously (a backend without a synchronous read). The operands are
 * uploaded before it returns; no tensor outlives the promise.
 */
export async function matmulABAsync(
  a: Float32Array,
  m: number,
  bt: Float32Array,
  n: number,
  D: number,
): Promise<Float32Array> {
  if (m === 0 || n === 0) return new Float32Array(m * n);
  const out = tf.tidy(() => tf.matMul(tf.tensor2d(a, [m, D]), tf.tensor2d(bt, [D, n])));
  try {
    return (await out.data()) as Float32Array;
  } finally {
    out.dispose();
  }
}

/** Rows of `b` (n x D, row-major) transposed into D x n. */
export function transposeRows(
  b: Float32Array,
  n: number,
  D: number,
  out: Float32Array = new Float32Array(n * D),
): Float32Array {
  const rows: Float32Array[] = [];
  for (let r = 0; r < n; r++) rows.push(b.subarray(r * D, r * D + D));
  return transposeInto(rows, D, out);
}

/**
 * Writes the vectors `rows` (each of length D, each times its scale when given) as the columns of
 * a D x rows.length matrix, in tiles of 64 coordinates so the strided writes stay in cache.
 */
export function transposeInto(
  rows: Float32Array[],
  D: number,
  out: Float32Array = new Float32Array(rows.length * D),
  scales: number[] | null = null,
): Float32Array {
  const n = rows.length;
  const T = 64;
  for (let d0 = 0; d0 < D; d0 += T) {
    const d1 = Math.min(D, d0 + T);
    for (let r = 0; r < n; r++) {
      const v = rows[r];
      const s = scales ? scales[r] : 1;
      if (s === 1) for (let d = d0; d < d1; d++) out[d * n + r] = v[d];
      else for (let d = d0; d < d1; d++) out[d * n + r] = v[d] * s;
    }
  }
  return out;
}

/** A (m x D) times B (n x D) transposed, as a row-major Float32Array (m x n). */
export function matmulABt(a: Float32Array, m: number, b: Float32Array, n: number, D: number): Float32Array {
  if (m === 0 || n === 0) return new Float32Array(m * n);
  return matmulAB(a, m, transposeRows(b, n, D), n, D);
}
