import { describe, expect, it } from 'vitest';
import { simulate } from '../src/engine/simulation';
import { CpuKvTier } from '../src/engine/cpu-tier';
import { findGpuPreset } from '../src/hardware/gpus';
import { hostLinksFor, transferTime } from '../src/hardware/host';
import { defaultTopology } from '../src/hardware/topology';
import { resolveSimulationSpec } from '../src/simulation-spec/spec';
import type { KvOffloadConfig } from '../src/types';
import { FIXED_STEP, LLAMA_70B_TP4_RAW, specOf, workloadOf, type Row } from './helpers';

const H100_SXM = findGpuPreset('h100-sxm')!;
/** Llama-3.1-8B's KV: 2 x 32 layers x 8 heads x 128 x 2 bytes = 128 KiB a token, 2 MiB a block of 16. */
const BLOCK_BYTES = 2 * 32 * 8 * 128 * 2 * 16;
const offload = (numCpuBlocks: number): KvOffloadConfig => ({ cpuGiB: 1, hostMemoryGiB: 2048, numCpuBlocks });

function run(
  rows: Row[],
  numGpuBlocks: number,
  kvOffload: KvOffloadConfig | null,
  maxNumBatchedTokens = 2048,
) {
  return simulate(
    specOf(workloadOf(rows), {
      gpu: H100_SXM,
      topology: defaultTopology(H100_SXM),
      timeModel: FIXED_STEP(1),
      kvOffload,
      engine: { numGpuBlocks, maxNumBatchedTokens },
    }),
  );
}

describe('CPU KV offload', () => {
  it('costs bytes over the host link plus its latency (hand-computed)', () => {
    const link = hostLinksFor(H100_SXM);
    // PCIe Gen5 x16, 64 GB/s a direction, at 80 % for DMA.
    expect(link.hostToDeviceGBps).toBeCloseTo(51.2, 10);
    // 5 blocks of 2 MiB = 10,485,760 bytes / 51.2 GB/s = 204.8 us, plus 20 us.
    expect(transferTime(5 * BLOCK_BYTES, link.hostToDeviceGBps, link.hostTransferLatencyS)).toBeCloseTo(
      224.8e-6,
      12,
    );
    expect(transferTime(0, link.hostToDeviceGBps, link.hostTransferLatencyS)).toBe(0);
  });

  // A (group 0) caches 6 prompt blocks; C (group 1) needs 7 of the 8 GPU blocks and evicts 5 of
  // them (the free queue gives A's tail blocks first), so when B (group 0) comes, the GPU has
  // A's first block and the CPU pool its next five.
  const rows: Row[] = [
    { t: 0, in: 100, out: 2, group: 0, prefix: 100 },
    { t: 3, in: 100, out: 2, group: 1, prefix: 100 },
    { t: 5, in: 100, out: 2, group: 0, prefix: 100 },
  ];

  it('serves a prefix found in the CPU pool from there: a CPU hit, not a recompute', () => {
    const without = run(rows, 8, null).requests;
    expect(Array.from(without.prefixHitTokens)).toEqual([0, 0, 16]);
    expect(without.firstTokenS[2]).toBe(6);

    const withCpu = run(rows, 8, offload(512));
    const q = withCpu.requests;
    expect(Array.from(q.prefixHitTokens)).toEqual([0, 0, 16]);
    expect(Array.from(q.cpuHitTokens)).toEqual([0, 0, 80]);
    // B waits for its 5 blocks (224.8 us), then computes its last 4 prompt tokens in one step.
    expect(q.firstTokenS[2]).toBeCloseTo(6 + 224.8e-6, 12);
    expect(q.finishS[2]).toBeCloseTo(7 + 224.8e-6, 12);
    const o = withCpu.result.kv_offload!;
    expect(o.cpu_hit_tokens).toBe(80);
    expect(o.loads).toBe(1);
    expect(o.load_s).toBeCloseTo(224.8e-6, 12);
    // Stored: A's 6 prompt blocks, C's 6, and nothing else is full (outputs end mid-block).
    expect(o.stored_blocks).toBe(12);
    expect(withCpu.leakedBlocks).toEqual([0]);
  });

  it('evicts the least recently stored blocks: a small pool no longer has them', () => {
    // 6 blocks: C's six prompt blocks pushed A's out.
    const q = run(rows, 8, offload(6)).requests;
    expect(Array.from(q.cpuHitTokens)).toEqual([0, 0, 0]);
    expect(q.firstTokenS[2]).toBe(6);
  });

  it('brings a preempted request back from the CPU pool instead of recomputing it', () => {
    // 4 GPU blocks: B (newest) is preempted in step 2 and A takes its cached block; B resumes at
    // t=20 when A ends. Without offload it recomputes 17 tokens; with it, its full block comes
    // back over PCIe (2 MiB: 40.96 us + 20 us) and only its 17th token is computed.
    const pre: Row[] = [
      { t: 0, in: 32, out: 20 },
      { t: 0, in: 16, out: 20 },
    ];
    const without = run(pre, 4, null, 100).requests;
    expect(Array.from(without.preemptions)).toEqual([0, 1]);
    expect(without.finishS[1]).toBe(39);
    expect(without.cpuHitTokens[1]).toBe(0);

    const q = run(pre, 4, offload(512), 100).requests;
    expect(Array.from(q.preemptions)).toEqual([0, 1]);
    expect(q.cpuHitTokens[1]).toBe(16);
    expect(q.finishS[1]).toBeCloseTo(39 + 60.96e-6, 12);
  });

  it('keeps only the most recent ticks of a request range', () => {
    const t = new CpuKvTier(10, 2);
    t.beginOwn(0, 0);
    t.storeAnonymous(4);
    t.endOwn(0, 4);
    expect(t.ownHits(0, 0)).toBe(4);
    // Seven more blocks: the range's first block (tick 1) is out, so nothing from block 0 on.
    t.storeAnonymous(7);
    expect(t.ownHits(0, 0)).toBe(0);
    // The GPU still holds the first two: the CPU gives blocks 2 and 3 (ticks 3 and 4 are in).
    expect(t.ownHits(0, 2)).toBe(2);
    t.storeKey(7);
    expect(t.has(7)).toBe(true);
    t.storeAnonymous(10);
    expect(t.has(7)).toBe(false);
  });
});

describe('kvOffload in the spec', () => {
  const base = LLAMA_70B_TP4_RAW;
  const resolve = (raw: Record<string, unknown>) => resolveSimulationSpec(raw, { baseDir: __dirname });

  it('sizes the CPU pool in blocks over the replica GPUs, as vLLM does', () => {
    // Llama-2-70B: 2 x 80 layers x 8 KV heads x 128 x 2 bytes = 320 KiB a token, 5 MiB a block; 8 GiB = 1638 blocks.
    expect(resolve({ ...base, kvOffload: { cpuGiB: 8 } }).kvOffload).toEqual({
      cpuGiB: 8,
      hostMemoryGiB: 2048,
      numCpuBlocks: 1638,
    });
    expect(resolve(base).kvOffload).toBeNull();
  });

  it('refuses a pool larger than the host memory, naming the field', () => {
    // Two replicas of TP4 share an 8-GPU node: 2 x 1200 GiB > 2048 GiB.
    expect(() => resolve({ ...base, replicas: 2, kvOffload: { cpuGiB: 1200 } })).toThrow(
      /kvOffload\.cpuGiB: 1200 GiB per replica needs 2400 GiB of host memory per node.*more than the node's 2048 GiB/,
    );
    expect(() => resolve({ ...base, kvOffload: { cpuGiB: 100, hostMemoryGiB: 64 } })).toThrow(
      /kvOffload\.cpuGiB: .*more than the node's 64 GiB \(kvOffload\.hostMemoryGiB\)/,
    );
    const bad = () => resolve({ ...base, kvOffload: { cpuGiB: -1, extra: 1 } });
    expect(bad).toThrow(/kvOffload\.cpuGiB: expected a number > 0, got -1/);
    expect(bad).toThrow(/kvOffload\.extra: unknown key/);
  });
});
