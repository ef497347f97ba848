import * as fs from 'node:fs';
import { InputError, type InputIssue } from '@kvplan/sim';

const MAX_HEADER = 16 * 1024 * 1024;

/**
 * Reads and checks the header of a `kvplan-kv/1` safetensors file (DESIGN.md "KV sample file"):
 * the 8-byte little-endian header length, the JSON header, `__metadata__` with format,
 * block_size and seq_lens, and layers numbered 0..L-1 with key and value tensors. Tensor data is
 * not read here (the fusion job does). Returns `__metadata__`.
 */
export function readKvSampleHeader(file: string): Record<string, string> {
  const where = 'kv-sample';
  const fd = fs.openSync(file, 'r');
  try {
    const size = fs.fstatSync(fd).size;
    const lenBuf = Buffer.alloc(8);
    if (size < 8 || fs.readSync(fd, lenBuf, 0, 8, 0) !== 8)
      throw new InputError([{ path: where, message: 'not a safetensors file (shorter than 8 bytes)' }]);
    const len = Number(lenBuf.readBigUInt64LE(0));
    if (len <= 0 || len > MAX_HEADER || 8 + len > size)
      throw new InputError([{ path: where, message: `not a safetensors file (header length ${len})` }]);
    const hdr = Buffer.alloc(len);
    fs.readSync(fd, hdr, 0, len, 8);
    let header: Record<string, unknown>;
    try {
      header = JSON.parse(hdr.toString('utf8')) as Record<string, unknown>;
    } catch {
      throw new InputError([{ path: where, message: 'not a safetensors file (header is not JSON)' }]);
    }
    const issues: InputIssue[] = [];
    const meta = (header.__metadata__ ?? null) as Record<string, string> | null;
    if (!meta || typeof meta !== 'object') issues.push({ path: `${where}.__metadata__`, message: 'missing' });
    else {
      if (meta.format !== 'kvplan-kv/1')
        issues.push({
          path: `${where}.__metadata__.format`,
          message: `expected "kvplan-kv/1", got ${JSON.stringify(meta.format)}`,
        });
      if (!/^\d+$/.test(meta.block_size ?? ''))
        issues.push({
          path: `${where}.__metadata__.block_size`,
          message: 'expected a positive integer (as a string)',
        });
      try {
        const seqLens: unknown = JSON.parse(meta.seq_lens ?? 'null');
        if (
          !Array.isArray(seqLens) ||
          seqLens.length === 0 ||
          !seqLens.every((n) => Number.isInteger(n) && n > 0)
        )
          throw new Error();
      } catch {
        issues.push({
          path: `${where}.__metadata__.seq_lens`,
          message: 'expected a JSON array of positive token counts',
        });
      }
    }
    const layers = new Set<number>();
    for (const name of Object.keys(header)) {
      const m = /^layers\.(\d+)\.(key|value|query)$/.exec(name);
      if (m) layers.add(Number(m[1]));
    }
    if (layers.size === 0)
      issues.push({ path: where, message: 'no layers.<l>.key / layers.<l>.value tensors' });
    for (let l = 0; l < layers.size; l++) {
      if (!layers.has(l))
        issues.push({ path: `${where}.layers.${l}`, message: 'layers must be numbered 0..L-1 without gaps' });
      else
        for (const t of ['key', 'value'])
          if (!(`layers.${l}.${t}` in header))
            issues.push({ path: `${where}.layers.${l}.${t}`, message: 'missing' });
    }
    if (issues.length) throw new InputError(issues);
    return meta!;
  } finally {
    fs.closeSync(fd);
  }
}
