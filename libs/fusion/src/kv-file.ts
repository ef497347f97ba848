import * as fs from 'node:fs';
import * as path from 'node:path';
import { decodeToFloat32, dtypeBytes, encodeFromFloat32, KV_DTYPES, type KvDtype } from './dtype';
import { FusionInputError, FusionIssueCollector } from './errors';
import { checkSafetensorsEntry, writeSafetensorsFile, type SafetensorsEntry } from './safetensors-entry';
import type { KvLayer, KvSampleInfo, KvSource, RopeInfo } from './kv-types';

export const KV_FORMAT = 'kvplan-kv/1';
/** safetensors caps its JSON header at 100 MB; a bigger length means a corrupt file. */
const MAX_HEADER_BYTES = 100_000_000;

type TensorEntry = SafetensorsEntry;

const NAME_RE = /^layers\.(0|[1-9]\d*)\.(key|value|query)$/;

/**
 * A kvplan-kv/1 sample opened for reading: the header is parsed and validated in full when it
 * opens (every problem reported at once, as a FusionInputError); layers are then read one at a
 * time with positioned reads, so the file is never loaded whole.
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
      fd = fs.openSync(file, 'r');
    } catch (err) {
      throw new FusionInputError([{ path: label, message: `cannot open: ${(err as Error).message}` }]);
    }
    try {
      const { info, entries, dataStart } = parseHeader(fd, file, label);
      return new KvFileReader(info, fd, entries, dataStart);
    } catch (err) {
      fs.closeSync(fd);
      throw err;
    }
  }

  readLayer(layer: number): KvLayer {
    if (this.fd === null) throw new Error('KvFileReader: already closed');
    if (!Number.isInteger(layer) || layer < 0 || layer >= this.info.numLayers) {
      throw new FusionInputError([
        {
          path: `${this.label}:layers`,
          message: `layer ${layer} does not exist (0..${this.info.numLayers - 1})`,
        },
      ]);
    }
    const key = this.readTensor(`layers.${layer}.key`);
    const value = this.readTensor(`layers.${layer}.value`);
    const query = this.entries.has(`layers.${layer}.query`) ? this.readTensor(`layers.${layer}.query`) : null;
    return { layer, key, value, query };
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
    if (n <= 0)
      throw new FusionInputError([{ path: what, message: 'file is truncated (unexpected end of data)' }]);
    done += n;
  }
}

function parseHeader(
  fd: number,
  file: string,
  label: string,
): { info: KvSampleInfo; entries: Map<string, TensorEntry>; dataStart: number } {
  const issues = new FusionIssueCollector();
  const size = fs.fstatSync(fd).size;
  if (size < 8)
    throw new FusionInputError([
      { path: label, message: `file is truncated: ${size} bytes, not even the 8-byte header length` },
    ]);
  const lenBuf = Buffer.alloc(8);
  fs.readSync(fd, lenBuf, 0, 8, 0);
  const headerLen = Number(lenBuf.readBigUInt64LE(0));
  if (headerLen > MAX_HEADER_BYTES) {
    throw new FusionInputError([
      { path: label, message: `header length ${headerLen} is not plausible (not a safetensors file?)` },
    ]);
  }
  if (8 + headerLen > size) {
    throw new FusionInputError([
      {
        path: label,
        message: `file is truncated: the header needs ${8 + headerLen} bytes, the file has ${size}`,
      },
    ]);
  }
  const headerBuf = Buffer.alloc(headerLen);
  fs.readSync(fd, headerBuf, 0, headerLen, 8);
  let header: unknown;
  try {
    header = JSON.parse(headerBuf.toString('utf8'));
  } catch (err) {
    throw new FusionInputError([
      { path: `${label}:header`, message: `not valid JSON (${(err as Error).message})` },
    ]);
  }
  if (!header || typeof header !== 'object' || Array.isArray(header)) {
    throw new FusionInputError([{ path: `${label}:header`, message: 'expected a JSON object' }]);
  }
  const dataStart = 8 + headerLen;
  const dataLen = size - dataStart;
  const entries = new Map<string, TensorEntry>();
  let meta: Record<string, unknown> | null = null;
  for (const [name, raw] of Object.entries(header as Record<string, unknown>)) {
    const p = `${label}:${name}`;
    if (name === '__metadata__') {
      if (!raw || typeof raw !== 'object' || Array.isArray(raw))
        issues.add(p, 'expected an object of strings');
      else meta = raw as Record<string, unknown>;
      continue;
    }
    if (!NAME_RE.test(name)) {
      issues.add(
        p,
        'unexpected tensor (kvplan-kv/1 holds layers.<l>.key, layers.<l>.value, layers.<l>.query)',
      );
      continue;
    }
    const entry = checkSafetensorsEntry(
      name,
      raw,
      p,
      {
        dtypes: KV_DTYPES,
        badDtype: (d) => `unknown dtype ${JSON.stringify(d)} (kvplan-kv/1 takes ${KV_DTYPES.join(', ')})`,
        sizePrefix: 'header sizes disagree with the data: ',
      },
      issues,
    );
    if (entry) entries.set(name, entry);
  }
  // The data region: every byte owned by exactly one tensor, nothing missing at the end.
  const sorted = [...entries.values()].sort((a, b) => a.begin - b.begin);
  let cursor = 0;
  for (const e of sorted) {
    if (e.begin < cursor)
      issues.add(
        `${label}:${e.name}.data_offsets`,
        `overlaps the previous tensor (begins at ${e.begin}, previous ends at ${cursor})`,
      );
    else if (e.begin > cursor)
      issues.add(`${label}:${e.name}.data_offsets`, `leaves a gap of ${e.begin - cursor} bytes before it`);
    cursor = Math.max(cursor, e.end);
  }
  if (cursor > dataLen) {
    issues.add(
      label,
      `file is truncated: the header describes ${cursor} data bytes, the file holds ${dataLen}`,
    );
  } else if (cursor < dataLen && entries.size > 0 && issues.ok) {
    issues.add(
      label,
      `${dataLen - cursor} trailing bytes after the last tensor (header sizes disagree with the data)`,
    );
  }

  const info = parseInfo(file, label, entries, meta, issues);
  issues.throwIfAny();
  return { info: info as KvSampleInfo, entries, dataStart };
}

function parseJsonField(
  meta: Record<string, unknown>,
  key: string,
  p: string,
  issues: FusionIssueCollector,
): unknown {
  const raw = meta[key];
  if (raw === undefined) return undefined;
  if (typeof raw !== 'string') {
    issues.add(p, 'metadata values must be strings (safetensors)');
    return undefined;
  }
  try {
    return JSON.parse(raw);
  } catch {
    issues.add(p, `expected JSON, got ${JSON.stringify(raw.slice(0, 60))}`);
    return undefined;
  }
}

function parseInfo(
  file: string,
  label: string,
  entries: Map<string, TensorEntry>,
  meta: Record<string, unknown> | null,
  issues: FusionIssueCollector,
): KvSampleInfo | null {
  const mp = (k: string): string => `${label}:__metadata__.${k}`;
  if (!meta) {
    issues.add(`${label}:__metadata__`, 'missing (kvplan-kv/1 needs format, block_size and seq_lens)');
    meta = {};
  }
  for (const [k, v] of Object.entries(meta))
    if (typeof v !== 'string') issues.add(mp(k), 'metadata values must be strings (safetensors)');
  if (meta.format !== KV_FORMAT)
    issues.add(mp('format'), `expected "${KV_FORMAT}", got ${JSON.stringify(meta.format ?? null)}`);
  const blockSize = Number(meta.block_size);
  if (meta.block_size === undefined) issues.add(mp('block_size'), 'missing (a positive integer)');
  else if (!Number.isInteger(blockSize) || blockSize <= 0)
    issues.add(mp('block_size'), `expected a positive integer, got ${JSON.stringify(meta.block_size)}`);

  // Layers 0..L-1 without gaps, each with key and value.
  const layerIds = new Set<number>();
  for (const name of entries.keys()) layerIds.add(Number(NAME_RE.exec(name)![1]));
  const numLayers = layerIds.size === 0 ? 0 : Math.max(...layerIds) + 1;
  if (numLayers === 0) issues.add(label, 'no layers.<l>.key / layers.<l>.value tensors');
  const missing: number[] = [];
  for (let l = 0; l < numLayers; l++) if (!layerIds.has(l)) missing.push(l);
  if (missing.length)
    issues.add(
      `${label}:layers`,
      `layers numbered 0..${numLayers - 1} without gaps; missing ${fmtList(missing)}`,
    );
  let keyShape: number[] | null = null;
  let queryShape: number[] | null = null;
  let dtype: KvDtype | null = null;
  let withQuery = 0;
  for (const l of [...layerIds].sort((a, b) => a - b)) {
    const k = entries.get(`layers.${l}.key`);
    const v = entries.get(`layers.${l}.value`);
    if (!k) issues.add(`${label}:layers.${l}.key`, 'missing');
    if (!v) issues.add(`${label}:layers.${l}.value`, 'missing');
    for (const e of [k, v]) {
      if (!e) continue;
      if (e.shape.length !== 5) {
        issues.add(
          `${label}:${e.name}.shape`,
          `expected [numSeqs, maxBlocks, blockSize, numKvHeads, headDim], got [${e.shape.join(', ')}]`,
        );
        continue;
      }
      if (!keyShape) keyShape = e.shape;
      else if (e.shape.join() !== keyShape.join()) {
        issues.add(
          `${label}:${e.name}.shape`,
          `[${e.shape.join(', ')}] differs from [${keyShape.join(', ')}] of the other keys and values`,
        );
      }
      if (!dtype) dtype = e.dtype;
    }
    const q = entries.get(`layers.${l}.query`);
    if (q) {
      withQuery++;
      if (q.shape.length !== 4)
        issues.add(
          `${label}:${q.name}.shape`,
          `expected [numSeqs, numQueries, numHeads, headDim], got [${q.shape.join(', ')}]`,
        );
      else if (!queryShape) queryShape = q.shape;
      else if (q.shape.join() !== queryShape.join())
        issues.add(
          `${label}:${q.name}.shape`,
          `[${q.shape.join(', ')}] differs from [${queryShape.join(', ')}] of the other queries`,
        );
    }
  }
  if (withQuery > 0 && withQuery !== layerIds.size)
    issues.add(
      `${label}:layers`,
      `layers.<l>.query is given for ${withQuery} of ${layerIds.size} layers: give it for every layer or none`,
    );
  if (!keyShape) return null;
  const [numSeqs, maxBlocks, bs, numKvHeads, headDim] = keyShape;
  if (Number.isInteger(blockSize) && bs !== blockSize)
    issues.add(
      `${label}:layers.0.key.shape`,
      `block dimension ${bs} differs from __metadata__.block_size ${blockSize}`,
    );
  if (queryShape) {
    if (queryShape[0] !== numSeqs)
      issues.add(
        `${label}:layers.0.query.shape`,
        `numSeqs ${queryShape[0]} differs from the keys' ${numSeqs}`,
      );
    if (queryShape[3] !== headDim)
      issues.add(
        `${label}:layers.0.query.shape`,
        `headDim ${queryShape[3]} differs from the keys' ${headDim}`,
      );
    if (numKvHeads === 0 || queryShape[2] % numKvHeads !== 0 || queryShape[2] === 0)
      issues.add(
        `${label}:layers.0.query.shape`,
        `numHeads ${queryShape[2]} is not a positive multiple of numKvHeads ${numKvHeads}`,
      );
  }

  const seqLensRaw = parseJsonField(meta, 'seq_lens', mp('seq_lens'), issues);
  let seqLens: number[] = [];
  if (meta.seq_lens === undefined)
    issues.add(mp('seq_lens'), 'missing (a JSON array of token counts, one per sequence)');
  else if (seqLensRaw !== undefined) {
    if (!Array.isArray(seqLensRaw) || !seqLensRaw.every((n) => Number.isInteger(n) && n >= 0))
      issues.add(mp('seq_lens'), 'expected a JSON array of non-negative integers');
    else {
      seqLens = seqLensRaw as number[];
      if (seqLens.length !== numSeqs)
        issues.add(mp('seq_lens'), `has ${seqLens.length} entries for ${numSeqs} sequences`);
      const cap = maxBlocks * bs;
      seqLens.forEach((n, i) => {
        if (n > cap)
          issues.add(
            `${mp('seq_lens')}[${i}]`,
            `${n} tokens is longer than the ${maxBlocks} blocks x ${bs} tokens given (${cap})`,
          );
      });
    }
  }
  const tenantsRaw = parseJsonField(meta, 'tenants', mp('tenants'), issues);
  let tenants: string[] | null = null;
  if (tenantsRaw !== undefined) {
    if (!Array.isArray(tenantsRaw) || !tenantsRaw.every((t) => typeof t === 'string'))
      issues.add(mp('tenants'), 'expected a JSON array of strings');
    else if (tenantsRaw.length !== numSeqs)
      issues.add(mp('tenants'), `has ${tenantsRaw.length} entries for ${numSeqs} sequences`);
    else tenants = tenantsRaw as string[];
  }
  const ropeState = meta.rope === undefined ? 'applied' : meta.rope;
  if (ropeState !== 'applied' && ropeState !== 'removed')
    issues.add(mp('rope'), `expected "applied" or "removed", got ${JSON.stringify(ropeState)}`);
  let theta: number | null = null;
  if (meta.rope_theta !== undefined) {
    theta = Number(meta.rope_theta);
    if (!Number.isFinite(theta) || theta <= 0) {
      issues.add(mp('rope_theta'), `expected a positive number, got ${JSON.stringify(meta.rope_theta)}`);
      theta = null;
    }
  }
  const scalingRaw = parseJsonField(meta, 'rope_scaling', mp('rope_scaling'), issues);
  let scaling: Record<string, unknown> | null = null;
  if (scalingRaw !== undefined && scalingRaw !== null) {
    if (typeof scalingRaw !== 'object' || Array.isArray(scalingRaw))
      issues.add(mp('rope_scaling'), 'expected a JSON object (or null)');
    else scaling = scalingRaw as Record<string, unknown>;
  }
  const posRaw = parseJsonField(meta, 'positions', mp('positions'), issues);
  let positions: number[] | null = null;
  if (posRaw !== undefined) {
    if (!Array.isArray(posRaw) || !posRaw.every((n) => Number.isInteger(n) && n >= 0))
      issues.add(mp('positions'), 'expected a JSON array of non-negative integers');
    else if (posRaw.length !== numSeqs)
      issues.add(mp('positions'), `has ${posRaw.length} entries for ${numSeqs} sequences`);
    else positions = posRaw as number[];
  }
  const qpRaw = parseJsonField(meta, 'query_positions', mp('query_positions'), issues);
  let queryPositions: number[][] | null = null;
  if (qpRaw !== undefined) {
    const nq = queryShape ? queryShape[1] : -1;
    if (
      !Array.isArray(qpRaw) ||
      !qpRaw.every((r) => Array.isArray(r) && r.every((n) => Number.isInteger(n) && n >= 0))
    ) {
      issues.add(mp('query_positions'), 'expected a JSON array of arrays of non-negative integers');
    } else if (qpRaw.length !== numSeqs || (nq >= 0 && !qpRaw.every((r: unknown[]) => r.length === nq))) {
      issues.add(
        mp('query_positions'),
        `expected ${numSeqs} arrays of ${nq >= 0 ? nq : 'numQueries'} positions`,
      );
    } else queryPositions = qpRaw as number[][];
  }
  const synth = meta.synthetic === undefined ? 'false' : meta.synthetic;
  if (synth !== 'true' && synth !== 'false')
    issues.add(mp('synthetic'), `expected "true" or "false", got ${JSON.stringify(synth)}`);
  const rope: RopeInfo = { state: ropeState === 'removed' ? 'removed' : 'applied', theta, scaling };
  return {
    file,
    numSeqs,
    numLayers,
    maxBlocks,
    blockSize: bs,
    numKvHeads,
    headDim,
    numQueries: queryShape ? queryShape[1] : 0,
    numHeads: queryShape ? queryShape[2] : null,
    dtype: dtype ?? 'F32',
    seqLens,
    tenants,
    model: typeof meta.model === 'string' ? meta.model : null,
    rope,
    positions,
    queryPositions,
    synthetic: synth === 'true',
  };
}

function fmtList(xs: number[]): string {
  return xs.length > 8 ? `${xs.slice(0, 8).join(', ')} and ${xs.length - 8} more` : xs.join(', ');
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
