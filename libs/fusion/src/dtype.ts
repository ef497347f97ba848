/** Conversions of kvplan-kv/1 element types to and from float32 (little-endian hosts). */
import type { KvDtype } from '@kvplan/core';

export { KV_DTYPES, tensorDtypeBytes as dtypeBytes, type KvDtype } from '@kvplan/core';

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

/** IEEE half -> float32 (subnormals, infinities and NaN included). */
export function halfToFloat(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >>> 10) & 0x1f;
  const frac = h & 0x3ff;
  if (exp === 0) return sign * frac * 2 ** -24;
  if (exp === 31) return frac ? NaN : sign * Infinity;
  return sign * (1 + frac / 1024) * 2 ** (exp - 15);
}

/** float32 -> IEEE half, round to nearest even; overflow to infinity. */
export function floatToHalf(x: number): number {
  f32[0] = x;
  const bits = u32[0];
  const sign = (bits >>> 16) & 0x8000;
  const exp = (bits >>> 23) & 0xff;
  let mant = bits & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant ? 0x200 : 0);
  const e = exp - 127 + 15;
  if (e >= 31) return sign | 0x7c00;
  if (e <= 0) {
    if (e < -10) return sign;
    mant |= 0x800000;
    const shift = 14 - e;
    const half = 1 << (shift - 1);
    let m = mant >>> shift;
    const rest = mant & ((1 << shift) - 1);
    if (rest > half || (rest === half && m & 1)) m++;
    return sign | m;
  }
  let m = mant >>> 13;
  const rest = mant & 0x1fff;
  let out = sign | (e << 10) | m;
  if (rest > 0x1000 || (rest === 0x1000 && m & 1)) {
    m++;
    out = sign | ((e << 10) + m);
  }
  return out;
}

export function bf16ToFloat(h: number): number {
  u32[0] = h << 16;
  return f32[0];
}

/** float32 -> bfloat16, round to nearest even (NaN stays NaN). */
export function floatToBf16(x: number): number {
  f32[0] = x;
  const bits = u32[0];
  if ((bits & 0x7f800000) === 0x7f800000 && bits & 0x7fffff) return (bits >>> 16) | 0x40;
  const rounded = bits + 0x7fff + ((bits >>> 16) & 1);
  return (rounded >>> 16) & 0xffff;
}

const LITTLE_ENDIAN = new Uint8Array(Uint16Array.of(1).buffer)[0] === 1;

/** Decodes `count` elements of `dtype` from little-endian bytes into float32. */
export function decodeToFloat32(bytes: Uint8Array, dtype: KvDtype, out: Float32Array): void {
  const n = out.length;
  if (dtype === 'F32') {
    new Uint8Array(out.buffer, out.byteOffset, n * 4).set(bytes.subarray(0, n * 4));
    return;
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, n * 2);
  if (dtype === 'F16') {
    const table = halfTable();
    // An aligned Uint16Array on a little-endian host reads each element once, without DataView calls.
    if (LITTLE_ENDIAN && bytes.byteOffset % 2 === 0) {
      const h = new Uint16Array(bytes.buffer, bytes.byteOffset, n);
      for (let i = 0; i < n; i++) out[i] = table[h[i]];
    } else for (let i = 0; i < n; i++) out[i] = table[view.getUint16(i * 2, true)];
  } else {
    const o32 = new Uint32Array(out.buffer, out.byteOffset, n);
    for (let i = 0; i < n; i++) o32[i] = view.getUint16(i * 2, true) << 16;
  }
}

/** Encodes float32 values as little-endian bytes of `dtype`. */
export function encodeFromFloat32(values: Float32Array, dtype: KvDtype): Uint8Array {
  const n = values.length;
  if (dtype === 'F32')
    return new Uint8Array(values.buffer.slice(values.byteOffset, values.byteOffset + n * 4));
  const out = new Uint8Array(n * 2);
  const view = new DataView(out.buffer);
  const conv = dtype === 'F16' ? floatToHalf : floatToBf16;
  for (let i = 0; i < n; i++) view.setUint16(i * 2, conv(values[i]), true);
  return out;
}

let halfLut: Float32Array | null = null;
function halfTable(): Float32Array {
  if (!halfLut) {
    halfLut = new Float32Array(65536);
    for (let i = 0; i < 65536; i++) halfLut[i] = halfToFloat(i);
  }
  return halfLut;
}
