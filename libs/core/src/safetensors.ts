import { InputError, type IssueCollector } from './errors';

/**
 * safetensors headers, read and checked without touching a file system: the caller hands in a
 * ByteSource (a file descriptor, a buffer). One limit policy for every reader of kvplan (the
 * KV-sample upload, the fusion job, the model loader): a header is at most 100 MB, safetensors'
 * own cap; a longer length means a corrupt or foreign file.
 */
export const SAFETENSORS_MAX_HEADER_BYTES = 100_000_000;

/** Positioned reads of a byte sequence of known size (short reads return fewer bytes). */
export interface ByteSource {
  readonly size: number;
  read(position: number, length: number): Uint8Array;
}

/**
 * A ByteSource over positioned reads (`fs.readSync(fd, into, offset, length, position)` fits):
 * loops over short reads, stops at the end of data.
 */
export function positionedSource(
  size: number,
  readInto: (into: Uint8Array, offset: number, length: number, position: number) => number,
): ByteSource {
  return {
    size,
    read(position, length) {
      const out = new Uint8Array(length);
      let done = 0;
      while (done < length) {
        const n = readInto(out, done, length - done, position + done);
        if (n <= 0) break;
        done += n;
      }
      return out.subarray(0, done);
    },
  };
}

/** Names an issue: `''` is the file itself, else a part of it (`__metadata__.block_size`). */
export type PathOf = (part: string) => string;

/** Element types kvplan reads from safetensors files (converted to float32 when loaded). */
export type TensorDtype = 'F32' | 'F16' | 'BF16';
export const TENSOR_DTYPES: readonly TensorDtype[] = ['F32', 'F16', 'BF16'];

export function tensorDtypeBytes(dtype: TensorDtype): number {
  return dtype === 'F32' ? 4 : 2;
}

/** One tensor of a safetensors header, checked: a known dtype, a shape, byte offsets that agree. */
export interface SafetensorsEntry {
  name: string;
  dtype: TensorDtype;
  shape: number[];
  /** Byte offsets inside the data region. */
  begin: number;
  end: number;
}

/** A parsed header: the JSON object, where the data region starts and how long it is. */
export interface SafetensorsHeader {
  header: Record<string, unknown>;
  dataStart: number;
  dataLen: number;
}

/**
 * Reads the 8-byte little-endian header length and the JSON header. Throws an InputError when the
 * file cannot be a safetensors file (nothing else can be checked then).
 */
export function readSafetensorsHeader(src: ByteSource, at: PathOf): SafetensorsHeader {
  const fail = (part: string, message: string): never => {
    throw new InputError([{ path: at(part), message }]);
  };
  const size = src.size;
  if (size < 8) fail('', `file is truncated: ${size} bytes, not even the 8-byte header length`);
  const prefix = src.read(0, 8);
  if (prefix.length < 8) fail('', 'file is truncated (unexpected end of data)');
  const view = new DataView(prefix.buffer, prefix.byteOffset, 8);
  const headerLen = view.getUint32(0, true) + view.getUint32(4, true) * 4294967296;
  if (headerLen > SAFETENSORS_MAX_HEADER_BYTES)
    fail('', `header length ${headerLen} is not plausible (not a safetensors file?)`);
  if (8 + headerLen > size)
    fail('', `file is truncated: the header needs ${8 + headerLen} bytes, the file has ${size}`);
  const bytes = src.read(8, headerLen);
  if (bytes.length < headerLen) fail('', 'file is truncated (unexpected end of data)');
  let header: unknown;
  try {
    header = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes));
  } catch (err) {
    fail('header', `not valid JSON (${(err as Error).message})`);
  }
  if (!header || typeof header !== 'object' || Array.isArray(header))
    fail('header', 'expected a JSON object');
  return {
    header: header as Record<string, unknown>,
    dataStart: 8 + headerLen,
    dataLen: size - 8 - headerLen,
  };
}

/**
 * Checks one `{dtype, shape, data_offsets}` entry of a safetensors header. Adds every problem to
 * `issues` under `path` and returns null when there was one. `badDtype` words the dtype error for
 * the caller's file kind; `sizePrefix` starts the message when the offsets disagree with
 * shape x dtype.
 */
export function checkSafetensorsEntry(
  name: string,
  raw: unknown,
  path: string,
  opts: { dtypes: readonly TensorDtype[]; badDtype: (dtype: unknown) => string; sizePrefix: string },
  issues: IssueCollector,
): SafetensorsEntry | null {
  const r = raw as { dtype?: unknown; shape?: unknown; data_offsets?: unknown } | null;
  if (!r || typeof r !== 'object' || Array.isArray(r)) {
    issues.add(path, 'expected {dtype, shape, data_offsets}');
    return null;
  }
  let ok = true;
  if (typeof r.dtype !== 'string' || !(opts.dtypes as readonly string[]).includes(r.dtype)) {
    issues.add(`${path}.dtype`, opts.badDtype(r.dtype));
    ok = false;
  }
  const shape = r.shape;
  if (!Array.isArray(shape) || !shape.every((d) => Number.isSafeInteger(d) && d >= 0)) {
    issues.add(`${path}.shape`, 'expected an array of non-negative integers');
    ok = false;
  }
  const off = r.data_offsets;
  if (
    !Array.isArray(off) ||
    off.length !== 2 ||
    !off.every((d) => Number.isSafeInteger(d) && d >= 0) ||
    off[1] < off[0]
  ) {
    issues.add(`${path}.data_offsets`, 'expected [begin, end] with 0 <= begin <= end');
    ok = false;
  }
  if (!ok) return null;
  const dtype = r.dtype as TensorDtype;
  const [begin, end] = off as [number, number];
  const dims = shape as number[];
  const want = dims.reduce((a, b) => a * b, 1) * tensorDtypeBytes(dtype);
  if (end - begin !== want) {
    issues.add(
      `${path}.data_offsets`,
      `${opts.sizePrefix}shape [${dims.join(', ')}] of ${dtype} needs ${want} bytes, data_offsets give ${end - begin}`,
    );
    return null;
  }
  return { name, dtype, shape: dims, begin, end };
}
