import * as fs from 'node:fs';
import * as path from 'node:path';
import { dtypeBytes, type KvDtype } from './dtype';
import type { FusionIssueCollector } from './errors';

/** One tensor of a safetensors header, checked: a known dtype, a shape, byte offsets that agree. */
export interface SafetensorsEntry {
  name: string;
  dtype: KvDtype;
  shape: number[];
  begin: number;
  end: number;
}

/**
 * Checks one `{dtype, shape, data_offsets}` entry of a safetensors header (the kvplan-kv/1 reader
 * and the model loader share it). Adds every problem to `issues` under `path` and returns null
 * when there was one. `badDtype` words the dtype error for the caller's file kind;
 * `sizePrefix` starts the message when the offsets disagree with shape x dtype.
 */
export function checkSafetensorsEntry(
  name: string,
  raw: unknown,
  path: string,
  opts: { dtypes: readonly KvDtype[]; badDtype: (dtype: unknown) => string; sizePrefix: string },
  issues: FusionIssueCollector,
): SafetensorsEntry | null {
  const r = raw as { dtype?: unknown; shape?: unknown; data_offsets?: unknown } | null;
  if (!r || typeof r !== 'object') {
    issues.add(path, 'expected {dtype, shape, data_offsets}');
    return null;
  }
  let ok = true;
  if (typeof r.dtype !== 'string' || !(opts.dtypes as readonly string[]).includes(r.dtype)) {
    issues.add(`${path}.dtype`, opts.badDtype(r.dtype));
    ok = false;
  }
  const shape = r.shape;
  if (!Array.isArray(shape) || !shape.every((d) => Number.isInteger(d) && d >= 0)) {
    issues.add(`${path}.shape`, 'expected an array of non-negative integers');
    ok = false;
  }
  const off = r.data_offsets;
  if (
    !Array.isArray(off) ||
    off.length !== 2 ||
    !off.every((d) => Number.isInteger(d) && d >= 0) ||
    off[1] < off[0]
  ) {
    issues.add(`${path}.data_offsets`, 'expected [begin, end] with 0 <= begin <= end');
    ok = false;
  }
  if (!ok) return null;
  const dtype = r.dtype as KvDtype;
  const [begin, end] = off as [number, number];
  const dims = shape as number[];
  const want = dims.reduce((a, b) => a * b, 1) * dtypeBytes(dtype);
  if (end - begin !== want) {
    issues.add(
      `${path}.data_offsets`,
      `${opts.sizePrefix}shape [${dims.join(', ')}] of ${dtype} needs ${want} bytes, data_offsets give ${end - begin}`,
    );
    return null;
  }
  return { name, dtype, shape: dims, begin, end };
}

/**
 * Writes a safetensors file: the header's length, the header as JSON padded to 8 bytes, then the
 * bytes `body` puts, in the order of the header's data_offsets. Written to a temporary file
 * renamed into place, so a failure (an error thrown by `body` included) leaves no partial file.
 */
export function writeSafetensorsFile(
  file: string,
  header: Record<string, unknown>,
  body: (put: (bytes: Uint8Array) => void) => void,
): void {
  let json = JSON.stringify(header);
  while ((8 + Buffer.byteLength(json)) % 8 !== 0) json += ' ';
  const headerBytes = Buffer.from(json, 'utf8');
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(headerBytes.length));
  const dir = path.dirname(path.resolve(file));
  fs.mkdirSync(dir, { recursive: true });
  const tmp = path.join(dir, `.${path.basename(file)}.partial`);
  const fd = fs.openSync(tmp, 'w');
  try {
    let pos = 0;
    const put = (b: Uint8Array): void => {
      let done = 0;
      while (done < b.length) done += fs.writeSync(fd, b, done, b.length - done, pos + done);
      pos += b.length;
    };
    put(len);
    put(headerBytes);
    body(put);
    fs.closeSync(fd);
    fs.renameSync(tmp, file);
  } catch (err) {
    try {
      fs.closeSync(fd);
    } catch {
      // already closed
    }
    fs.rmSync(tmp, { force: true });
    throw err;
  }
}
