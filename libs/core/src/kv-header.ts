import { InputError, IssueCollector } from './errors';
import {
  checkSafetensorsEntry,
  readSafetensorsHeader,
  TENSOR_DTYPES,
  type ByteSource,
  type PathOf,
  type SafetensorsEntry,
  type SafetensorsHeader,
  type TensorDtype,
} from './safetensors';

/**
 * The `kvplan-kv/1` header validator (the KV sample file contract), pure and shared: the api's
 * upload, libs/fusion's reader and the worker's job all accept and reject the same files. It
 * checks the header (names, dtypes, shapes, offsets that tile the data region exactly) and the
 * `__metadata__` strings, and reports every issue at once.
 */
export const KV_FORMAT = 'kvplan-kv/1';

export type KvDtype = TensorDtype;
export const KV_DTYPES: readonly KvDtype[] = TENSOR_DTYPES;

/** Rotary position embedding of the keys in a sample. */
export interface RopeInfo {
  /** `applied` (the default): keys carry RoPE; `removed`: they were stored without it. */
  state: 'applied' | 'removed';
  theta: number | null;
  /** Hugging Face `rope_scaling` object, or null. */
  scaling: Record<string, unknown> | null;
}

/** What a kvplan-kv/1 sample holds, read from its header (nothing of the data). */
export interface KvSampleInfo {
  /** Path of the file, or null for an in-memory (synthetic) sample. */
  file: string | null;
  numSeqs: number;
  numLayers: number;
  /** Blocks per sequence in the tensors (padded past each sequence's length). */
  maxBlocks: number;
  blockSize: number;
  numKvHeads: number;
  headDim: number;
  /** Query vectors per sequence in `layers.<l>.query` (0 when the sample has none). */
  numQueries: number;
  /** Query heads (a multiple of numKvHeads), or null when the sample has no queries. */
  numHeads: number | null;
  dtype: KvDtype;
  /** Token count of each sequence. */
  seqLens: number[];
  tenants: string[] | null;
  model: string | null;
  rope: RopeInfo;
  /** First token position of each sequence (0 when absent). */
  positions: number[] | null;
  /** Position of each query of each sequence, or null. */
  queryPositions: number[][] | null;
  synthetic: boolean;
}

/** A validated kvplan-kv/1 header. */
export interface KvHeader {
  info: KvSampleInfo;
  /** The tensors by name, offsets inside the data region. */
  entries: Map<string, SafetensorsEntry>;
  /** Byte offset of the data region in the file. */
  dataStart: number;
  /** `__metadata__` as stored (every value a string). */
  metadata: Record<string, string>;
}

const NAME_RE = /^layers\.(0|[1-9]\d*)\.(key|value|query)$/;

/** The issue path maker of a file label: `sample.safetensors` and `sample.safetensors:<part>`. */
export function fileIssuePath(label: string): PathOf {
  return (part) => (part ? `${label}:${part}` : label);
}

/**
 * Reads and validates a kvplan-kv/1 header from `src` (`file` is recorded in the info). Throws
 * an InputError carrying every issue.
 */
export function readKvHeader(src: ByteSource, file: string | null, at: PathOf): KvHeader {
  return validateKvHeader(readSafetensorsHeader(src, at), file, at);
}

/** Validates a parsed safetensors header as kvplan-kv/1. Throws an InputError carrying every issue. */
export function validateKvHeader(h: SafetensorsHeader, file: string | null, at: PathOf): KvHeader {
  const issues = new IssueCollector();
  const { header, dataStart, dataLen } = h;
  const entries = new Map<string, SafetensorsEntry>();
  let meta: Record<string, unknown> | null = null;
  for (const [name, raw] of Object.entries(header)) {
    const p = at(name);
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
        at(`${e.name}.data_offsets`),
        `overlaps the previous tensor (begins at ${e.begin}, previous ends at ${cursor})`,
      );
    else if (e.begin > cursor)
      issues.add(at(`${e.name}.data_offsets`), `leaves a gap of ${e.begin - cursor} bytes before it`);
    cursor = Math.max(cursor, e.end);
  }
  if (cursor > dataLen) {
    issues.add(
      at(''),
      `file is truncated: the header describes ${cursor} data bytes, the file holds ${dataLen}`,
    );
  } else if (cursor < dataLen && entries.size > 0 && issues.ok) {
    issues.add(
      at(''),
      `${dataLen - cursor} trailing bytes after the last tensor (header sizes disagree with the data)`,
    );
  }

  const info = parseInfo(file, at, entries, meta, issues);
  if (!issues.ok || !info) {
    issues.throwIfAny();
    throw new InputError([{ path: at(''), message: 'no layers.<l>.key / layers.<l>.value tensors' }]);
  }
  return { info, entries, dataStart, metadata: meta as Record<string, string> };
}

function parseJsonField(
  meta: Record<string, unknown>,
  key: string,
  p: string,
  issues: IssueCollector,
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
  file: string | null,
  at: PathOf,
  entries: Map<string, SafetensorsEntry>,
  meta: Record<string, unknown> | null,
  issues: IssueCollector,
): KvSampleInfo | null {
  const mp = (k: string): string => at(`__metadata__.${k}`);
  if (!meta) {
    issues.add(at('__metadata__'), 'missing (kvplan-kv/1 needs format, block_size and seq_lens)');
    meta = {};
  }
  for (const [k, v] of Object.entries(meta))
    if (k.includes('\u0000')) issues.add(at('__metadata__'), 'a key contains a NUL character');
    else if (typeof v !== 'string') issues.add(mp(k), 'metadata values must be strings (safetensors)');
    // A NUL cannot be stored in a PostgreSQL text or jsonb value, nor is it ever meant.
    else if (v.includes('\u0000')) issues.add(mp(k), 'contains a NUL character');
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
  if (numLayers === 0) issues.add(at(''), 'no layers.<l>.key / layers.<l>.value tensors');
  const missing: number[] = [];
  for (let l = 0; l < numLayers; l++) if (!layerIds.has(l)) missing.push(l);
  if (missing.length)
    issues.add(at(`layers`), `layers numbered 0..${numLayers - 1} without gaps; missing ${fmtList(missing)}`);
  let keyShape: number[] | null = null;
  let queryShape: number[] | null = null;
  let dtype: KvDtype | null = null;
  let withQuery = 0;
  for (const l of [...layerIds].sort((a, b) => a - b)) {
    const k = entries.get(`layers.${l}.key`);
    const v = entries.get(`layers.${l}.value`);
    if (!k) issues.add(at(`layers.${l}.key`), 'missing');
    if (!v) issues.add(at(`layers.${l}.value`), 'missing');
    for (const e of [k, v]) {
      if (!e) continue;
      if (e.shape.length !== 5) {
        issues.add(
          at(`${e.name}.shape`),
          `expected [numSeqs, maxBlocks, blockSize, numKvHeads, headDim], got [${e.shape.join(', ')}]`,
        );
        continue;
      }
      if (!keyShape) keyShape = e.shape;
      else if (e.shape.join() !== keyShape.join()) {
        issues.add(
          at(`${e.name}.shape`),
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
          at(`${q.name}.shape`),
          `expected [numSeqs, numQueries, numHeads, headDim], got [${q.shape.join(', ')}]`,
        );
      else if (!queryShape) queryShape = q.shape;
      else if (q.shape.join() !== queryShape.join())
        issues.add(
          at(`${q.name}.shape`),
          `[${q.shape.join(', ')}] differs from [${queryShape.join(', ')}] of the other queries`,
        );
    }
  }
  if (withQuery > 0 && withQuery !== layerIds.size)
    issues.add(
      at(`layers`),
      `layers.<l>.query is given for ${withQuery} of ${layerIds.size} layers: give it for every layer or none`,
    );
  if (!keyShape) return null;
  const [numSeqs, maxBlocks, bs, numKvHeads, headDim] = keyShape;
  if (Number.isInteger(blockSize) && bs !== blockSize)
    issues.add(
      at(`layers.0.key.shape`),
      `block dimension ${bs} differs from __metadata__.block_size ${blockSize}`,
    );
  if (queryShape) {
    if (queryShape[0] !== numSeqs)
      issues.add(at(`layers.0.query.shape`), `numSeqs ${queryShape[0]} differs from the keys' ${numSeqs}`);
    if (queryShape[3] !== headDim)
      issues.add(at(`layers.0.query.shape`), `headDim ${queryShape[3]} differs from the keys' ${headDim}`);
    if (numKvHeads === 0 || queryShape[2] % numKvHeads !== 0 || queryShape[2] === 0)
      issues.add(
        at(`layers.0.query.shape`),
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
