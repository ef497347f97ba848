import * as tf from '@tensorflow/tfjs';

/**
 * A (m x D) times B (n x D) transposed, as a row-major Float32Array (m x n). On the wasm backend
 * `matMul(a, transpose(b))` is about ten times faster than `matMul(a, b, false, true)`
 * (NOTES-deps.md), so the transpose is explicit. No tensor outlives the call.
 */
export function matmulABt(a: Float32Array, m: number, b: Float32Array, n: number, D: number): Float32Array {
  if (m === 0 || n === 0) return new Float32Array(m * n);
  const out = tf.tidy(() => tf.matMul(tf.tensor2d(a, [m, D]), tf.transpose(tf.tensor2d(b, [n, D]))));
  try {
    return out.dataSync() as Float32Array;
  } finally {
    out.dispose();
  }
}

/** Rows [a0, a1) of `u` times rows [b0, b1) of `u` transposed (u is an uploaded N x D matrix). */
export function sliceMatmulABt(u: tf.Tensor2D, a0: number, a1: number, b0: number, b1: number): Float32Array {
  const D = u.shape[1];
  if (a1 <= a0 || b1 <= b0) return new Float32Array(Math.max(0, a1 - a0) * Math.max(0, b1 - b0));
  const out = tf.tidy(() =>
    tf.matMul(tf.slice(u, [a0, 0], [a1 - a0, D]), tf.transpose(tf.slice(u, [b0, 0], [b1 - b0, D]))),
  );
  try {
    return out.dataSync() as Float32Array;
  } finally {
    out.dispose();
  }
}
