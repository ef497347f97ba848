/**
 * What both kernel extractions (extract.ts, extract-moe.ts) read from a checkout of NVIDIA
 * AIConfigurator: which GPU folders and vLLM versions, the parquet reader, and the sorted CSV
 * writer. Scripts only: no code of that project, numbers only.
 */
import * as fs from 'node:fs';
import { parquetReadObjects } from 'hyparquet';
import { compressors } from 'hyparquet-compressors';

/** kvplan's name of each measured GPU, AIConfigurator's folder and the vLLM version used (one per GPU: 0.14.0 where measured). */
export const SOURCES = [
  { gpu: 'h100_sxm', folder: 'h100_sxm', vllm: '0.14.0' },
  { gpu: 'a100_sxm', folder: 'a100_sxm', vllm: '0.14.0' },
  { gpu: 'h200_sxm', folder: 'h200_sxm', vllm: '0.14.0' },
  { gpu: 'l40s', folder: 'l40s', vllm: '0.14.0' },
  { gpu: 'b200_sxm', folder: 'b200_sxm', vllm: '0.19.0' },
  { gpu: 'rtx_pro_6000_server', folder: 'rtx_pro_6000_server', vllm: '0.19.0' },
] as const;

export type Row = Record<string, unknown>;
export const int = (v: unknown) => Number(v);
export const us = (ms: unknown) => Math.round(Number(ms) * 1e6) / 1e3; // ms -> microseconds, 1 ns resolution

export async function readParquet(file: string): Promise<Row[]> {
  const b = fs.readFileSync(file);
  const ab = b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength) as ArrayBuffer;
  return (await parquetReadObjects({ file: ab, compressors })) as Row[];
}

export function writeCsv(file: string, header: readonly string[], rows: Array<Array<number>>): void {
  rows.sort((a, b) => {
    for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return a[i] - b[i];
    return 0;
  });
  fs.writeFileSync(file, [header.join(','), ...rows.map((r) => r.join(','))].join('\n') + '\n');
}
