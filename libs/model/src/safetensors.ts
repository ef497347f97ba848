import * as fs from 'node:fs';
import * as path from 'node:path';
import {
  checkSafetensorsEntry,
  fileIssuePath,
  InputError,
  IssueCollector,
  readSafetensorsHeader,
  TENSOR_DTYPES,
  type SafetensorsEntry,
  type TensorDtype,
} from '@kvplan/core';
import {
  decodeToFloat32,
  dtypeBytes,
  encodeFromFloat32,
  fdByteSource,
  writeSafetensorsFile,
} from '@kvplan/fusion';

/** Element types of model weights kvplan reads (converted to float32 at load). */
export type WeightDtype = TensorDtype;
export const WEIGHT_DTYPES: readonly WeightDtype[] = TENSOR_DTYPES;

/** A checked header entry; `begin` and `end` are byte offsets inside the data region. */
export type TensorInfo = SafetensorsEntry;

/**
 * One safetensors file opened for reading: the header is parsed and checked in full when it
 * opens (every problem at once, as an InputError whose paths start with the file's name);
 * tensors are then read one at a time with positioned reads, never the whole file.
 */
export class SafetensorsFile {
  readonly tensors: Map<string, TensorInfo>;
  readonly metadata: Record<string, string>;
  readonly label: string;
  private fd: number | null;
  private readonly dataStart: number;

  private constructor(
    label: string,
    fd: number,
    tensors: Map<string, TensorInfo>,
    metadata: Record<string, string>,
    dataStart: number,
  ) {
    this.label = label;
    this.fd = fd;
    this.tensors = tensors;
    this.metadata = metadata;
    this.dataStart = dataStart;
  }

  /** Opens `file`; `label` names it in error messages (default: its base name). */
  static open(file: string, label = path.basename(file)): SafetensorsFile {
    let fd: number;
    try {
      fd = fs.openSync(file, 'r');
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code ?? (err as Error).message;
      throw new InputError([{ path: label, message: `cannot open (${code})` }]);
    }
    try {
      const { tensors, metadata, dataStart } = parseHeader(fd, label);
      return new SafetensorsFile(label, fd, tensors, metadata, dataStart);
    } catch (err) {
      fs.closeSync(fd);
      throw err;
    }
  }

  /** Reads one tensor as float32 (converted from F16/BF16). */
  read(name: string): Float32Array {
    const e = this.tensors.get(name);
    if (!e) throw new InputError([{ path: `${this.label}:${name}`, message: 'no such tensor' }]);
    if (this.fd === null) throw new Error(`SafetensorsFile ${this.label}: already closed`);
    const count = e.shape.reduce((a, b) => a * b, 1);
    const out = new Float32Array(count);
    const bytes = e.dtype === 'F32' ? new Uint8Array(out.buffer) : new Uint8Array(e.end - e.begin);
    let done = 0;
    while (done < bytes.length) {
      const n = fs.readSync(this.fd, bytes, done, bytes.length - done, this.dataStart + e.begin + done);
      if (n <= 0)
        throw new InputError([
          { path: `${this.label}:${name}`, message: 'file is truncated (unexpected end of data)' },
        ]);
      done += n;
    }
    if (e.dtype !== 'F32') decodeToFloat32(bytes, e.dtype, out);
    return out;
  }

  close(): void {
    if (this.fd !== null) fs.closeSync(this.fd);
    this.fd = null;
  }
}

function parseHeader(
  fd: number,
  label: string,
): { tensors: Map<string, TensorInfo>; metadata: Record<string, string>; dataStart: number } {
  const { header, dataStart, dataLen } = readSafetensorsHeader(fdByteSource(fd), fileIssuePath(label));
  const issues = new IssueCollector();
  const tensors = new Map<string, TensorInfo>();
  const metadata: Record<string, string> = {};
  for (const [name, raw] of Object.entries(header as Record<string, unknown>)) {
    const p = `${label}:${name}`;
    if (name === '__metadata__') {
      if (raw && typeof raw === 'object' && !Array.isArray(raw))
        for (const [k, v] of Object.entries(raw)) if (typeof v === 'string') metadata[k] = v;
      continue;
    }
    const entry = checkSafetensorsEntry(
      name,
      raw,
      p,
      {
        dtypes: WEIGHT_DTYPES,
        badDtype: (d) =>
          `${JSON.stringify(d)} is not supported (kvplan loads ${WEIGHT_DTYPES.join(', ')} weights; quantized checkpoints are not supported)`,
        sizePrefix: '',
      },
      issues,
    );
    if (entry) tensors.set(name, entry);
  }
  for (const e of tensors.values())
    if (e.end > dataLen)
      issues.add(
        `${label}:${e.name}`,
        `file is truncated: the tensor ends at data byte ${e.end}, the file holds ${dataLen}`,
      );
  issues.throwIfAny();
  return { tensors, metadata, dataStart };
}

export interface TensorToWrite {
  name: string;
  /** Stored element type (values are rounded to it). */
  dtype: WeightDtype;
  shape: number[];
  data: Float32Array;
}

/**
 * Writes a safetensors file (tensors in the given order, header padded to 8 bytes) through a
 * temporary file renamed into place, so a failure leaves no partial file.
 */
export function writeSafetensors(
  file: string,
  tensors: TensorToWrite[],
  metadata: Record<string, string> = {},
): void {
  const header: Record<string, unknown> = {};
  if (Object.keys(metadata).length) header.__metadata__ = metadata;
  let off = 0;
  for (const t of tensors) {
    const count = t.shape.reduce((a, b) => a * b, 1);
    if (count !== t.data.length)
      throw new Error(
        `writeSafetensors: ${t.name} has ${t.data.length} values for shape [${t.shape.join(', ')}]`,
      );
    const bytes = count * dtypeBytes(t.dtype);
    header[t.name] = { dtype: t.dtype, shape: t.shape, data_offsets: [off, off + bytes] };
    off += bytes;
  }
  writeSafetensorsFile(file, header, (put) => {
    for (const t of tensors) put(encodeFromFloat32(t.data, t.dtype));
  });
}
