/** Small dense-vector helpers on Float32Array views (plain loops; the heavy work goes to tfjs). */

export function dot(a: Float32Array, ao: number, b: Float32Array, bo: number, n: number): number {
  let s0 = 0;
  let s1 = 0;
  let s2 = 0;
  let s3 = 0;
  let i = 0;
  for (; i + 3 < n; i += 4) {
    s0 += a[ao + i] * b[bo + i];
    s1 += a[ao + i + 1] * b[bo + i + 1];
    s2 += a[ao + i + 2] * b[bo + i + 2];
    s3 += a[ao + i + 3] * b[bo + i + 3];
  }
  for (; i < n; i++) s0 += a[ao + i] * b[bo + i];
  return s0 + s1 + s2 + s3;
}

export function norm(a: Float32Array, ao: number, n: number): number {
  return Math.sqrt(dot(a, ao, a, ao, n));
}

/** Writes the unit direction of each D-vector of `src` into `dir` and its norm into `norms`. */
export function unitRows(
  src: Float32Array,
  rows: number,
  D: number,
  dir: Float32Array,
  norms: Float32Array,
): void {
  for (let r = 0; r < rows; r++) {
    const o = r * D;
    const nr = norm(src, o, D);
    norms[r] = nr;
    const inv = nr > 0 ? 1 / nr : 0;
    for (let d = 0; d < D; d++) dir[o + d] = src[o + d] * inv;
  }
}

/** Unit direction of src[so, so + D) into dir[doff, ...) and its norm into norms[k]. */
export function unitRow(
  src: Float32Array,
  so: number,
  D: number,
  dir: Float32Array,
  doff: number,
  norms: Float32Array,
  k: number,
): void {
  const v = src.subarray(so, so + D);
  let s0 = 0;
  let s1 = 0;
  let s2 = 0;
  let s3 = 0;
  let i = 0;
  for (; i + 3 < D; i += 4) {
    const a = v[i];
    const b = v[i + 1];
    const c = v[i + 2];
    const d = v[i + 3];
    s0 += a * a;
    s1 += b * b;
    s2 += c * c;
    s3 += d * d;
  }
  for (; i < D; i++) s0 += v[i] * v[i];
  const nr = Math.sqrt(s0 + s1 + s2 + s3);
  norms[k] = nr;
  const inv = nr > 0 ? 1 / nr : 0;
  const o = dir.subarray(doff, doff + D);
  for (let j = 0; j < D; j++) o[j] = v[j] * inv;
}
