import * as fs from 'node:fs';
import * as path from 'node:path';
import {
  fileIssuePath,
  InputError,
  KV_FORMAT,
  positionedSource,
  readKvHeader,
  type ByteSource,
  type KvDtype,
  type SafetensorsEntry,
} from '@kvplan/core';
import { decodeToFloat32, dtypeBytes, encodeFromFloat32 } from './dtype';
import { nonFiniteIssues } from './kv-check';
import { writeSafetensorsFile } from './safetensors-entry';
import type { KvLayer, KvSampleInfo, KvSource } from './kv-types';

type TensorEntry = SafetensorsEntry;

/**
 * A kvplan-kv/1 sample opened for reading: the header is validated in full when it opens, by
 * libs/core's validator (every problem reported at once, as an InputError); layers are then read one at a
 * time with positioned reads, so the file is never loaded whole, and each is checked for NaN and
 * infinities as it is read (an InputError naming the layer, the tensor and the first index).
 */
export class KvFileReader implements KvSource {
  readonly info: KvSampleInfo;
  private fd: number | null;
  private readonly entries: Map<string, TensorEntry>;
  private readonly dataStart: number;
  private readonly label: string;

  private constructor(info: KvSampleInfo, fd: number, entries: Map<string, TensorEntry>, dataStart: number) {
    this.info = info;
    this.fd = fd;
    this.entries = entries;
    this.dataStart = dataStart;
    this.label = path.basename(info.file ?? 'sample');
  }

  static open(file: string): KvFileReader {
    const label = path.basename(file);
    let fd: number;
    try {
      // Never open a FIFO or device: opening one can block, reading one may never end.
      if (!fs.statSync(file).isFile())
        throw new InputError([
          { path: label, message: 'not a regular file (a KV sample is a .safetensors file)' },
        ]);
      fd = fs.openSync(file, 'r');
    } catch (err) {
      if (err instanceof InputError) throw err;
      throw new InputError([{ path: label, message: `cannot open: ${(err as Error).message}` }]);
    }
    try {
      const { info, entries, dataStart } = readKvHeader(fdByteSource(fd), file, fileIssuePath(label));
      return new KvFileReader(info, fd, entries, dataStart);
    } catch (err) {
      fs.closeSync(fd);
      throw err;
    }
  }

  readLayer(layer: number): KvLayer {
    if (this.fd === null) throw new Error('KvFileReader: already closed');
    if (!Number.isInteger(layer) || layer < 0 || layer >= this.info.numLayers) {
      throw new InputError([
        {
          path: `${this.label}:layers`,
          message: `layer ${layer} does not exist (0..${this.info.numLayers - 1})`,
        },
      ]);
    }
    const key = this.readTensor(`layers.${layer}.key`);
    const value = this.readTensor(`layers.${layer}.value`);
    const query = this.entries.has(`layers.${layer}.query`) ? this.readTensor(`layers.${layer}.query`) : null;
    const read = { layer, key, value, query };
    // NaN or infinity anywhere a sequence's tokens are: bad input, named, before it is fused.
    const issues = nonFiniteIssues(read, this.info, this.label);
    if (issues.length) throw new InputError(issues);
    return read;
  }

  close(): void {
    if (this.fd !== null) fs.closeSync(this.fd);
    this.fd = null;
  }

  private readTensor(name: string): Float32Array {
    const e = this.entries.get(name);
    if (!e || this.fd === null) throw new Error(`KvFileReader: no tensor ${name}`);
    const count = e.shape.reduce((a, b) => a * b, 1);
    const out = new Float32Array(count);
    const bytes = e.dtype === 'F32' ? new Uint8Array(out.buffer) : new Uint8Array(e.end - e.begin);
    readFully(this.fd, bytes, this.dataStart + e.begin, `${this.label}:${name}`);
    if (e.dtype !== 'F32') decodeToFloat32(bytes, e.dtype, out);
    return out;
  }
}

/** Opens a kvplan-kv/1 file (validating its header); read layers with `readLayer`, then `close`. */
export function openKvSample(file: string): KvFileReader {
  return KvFileReader.open(file);
}

function readFully(fd: number, into: Uint8Array, position: number, what: string): void {
  let done = 0;
  while (done < into.length) {
    const n = fs.readSync(fd, into, done, into.length - done, position + done);
    if (n <= 0) throw new InputError([{ path: what, message: 'file is truncated (unexpected end of data)' }]);
    done += n;
  }
}

/** Positioned reads of an open file, for libs/core's header readers. */
export function fdByteSource(fd: number): ByteSource {
  return positionedSource(fs.fstatSync(fd).size, (into, offset, length, position) =>
    fs.readSync(fd, into, offset, length, position),
  );
}

/** The `__metadata__` strings of a sample. */
export function kvMetadata(info: KvSampleInfo): Record<string, string> {
  const m: Record<string, string> = {
    format: KV_FORMAT,
    block_size: String(info.blockSize),
    seq_lens: JSON.stringify(info.seqLens),
    rope: info.rope.state,
    synthetic: info.synthetic ? 'true' : 'false',
  };
  if (info.tenants) m.tenants = JSON.stringify(info.tenants);
  if (info.model) m.model = info.model;
  if (info.rope.theta !== null) m.rope_theta = String(info.rope.theta);
  if (info.rope.scaling) m.rope_scaling = JSON.stringify(info.rope.scaling);
  if (info.positions) m.positions = JSON.stringify(info.positions);
  if (info.queryPositions) m.query_positions = JSON.stringify(info.queryPositions);
  return m;
}

export interface WriteKvOptions {
  /** Element type written (default: the source's). */
  dtype?: KvDtype;
  /** Called after each layer is written. */
  onLayer?: (layer: number) => void;
}

/**
 * Writes a kvplan-kv/1 file layer by layer (only one layer in memory), to a temporary file
 * beside the target that is renamed into place at the end: a failure leaves no partial file.
 */
export function writeKvSample(file: string, source: KvSource, options: WriteKvOptions = {}): void {
  const info = source.info;
  const dtype = options.dtype ?? info.dtype;
  const el = dtypeBytes(dtype);
  const kvShape = [info.numSeqs, info.maxBlocks, info.blockSize, info.numKvHeads, info.headDim];
  const kvBytes = kvShape.reduce((a, b) => a * b, 1) * el;
  const qShape =
    info.numQueries > 0 && info.numHeads
      ? [info.numSeqs, info.numQueries, info.numHeads, info.headDim]
      : null;
  const qBytes = qShape ? qShape.reduce((a, b) => a * b, 1) * el : 0;
  const header: Record<string, unknown> = { __metadata__: kvMetadata({ ...info, dtype }) };
  let off = 0;
  for (let l = 0; l < info.numLayers; l++) {
    header[`layers.${l}.key`] = { dtype, shape: kvShape, data_offsets: [off, off + kvBytes] };
    off += kvBytes;
    header[`layers.${l}.value`] = { dtype, shape: kvShape, data_offsets: [off, off + kvBytes] };
    off += kvBytes;
    if (qShape) {
      header[`layers.${l}.query`] = { dtype, shape: qShape, data_offsets: [off, off + qBytes] };
      off += qBytes;
    }
  }
  writeSafetensorsFile(file, header, (put) => {
    for (let l = 0; l < info.numLayers; l++) {
      const layer = source.readLayer(l);
      const want = kvBytes / el;
      if (layer.key.length !== want || layer.value.length !== want) {
        throw new Error(
          `writeKvSample: layer ${l} has ${layer.key.length}/${layer.value.length} floats, expected ${want}`,
        );
      }
      put(encodeFromFloat32(layer.key, dtype));
      put(encodeFromFloat32(layer.value, dtype));
      if (qShape) {
        if (!layer.query || layer.query.length !== qBytes / el)
          throw new Error(`writeKvSample: layer ${l} query missing or misshapen`);
        put(encodeFromFloat32(layer.query, dtype));
      }
      options.onLayer?.(l);
    }
  });
}
