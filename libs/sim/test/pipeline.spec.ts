import * as fs from 'node:fs';
import * as path from 'node:path';
import Ajv2020 from 'ajv/dist/2020';
import { describe, expect, it } from 'vitest';
import { simulate } from '../src/engine/simulation';
import { findGpuPreset } from '../src/hardware/gpus';
import { pipelinePlacement } from '../src/hardware/host';
import { defaultTopology } from '../src/hardware/topology';
import { resolveSimulationSpec } from '../src/simulation-spec/spec';
import { DEFAULT_TIME_MODEL } from '../src/time/profiles';
import { StepTimeModel, emptyStepWork } from '../src/time/step-time';
import { FIXED_STEP, LLAMA_70B_TP4_RAW, LLAMA_8B, specOf, workloadOf, type Row } from './helpers';

const H100_SXM = findGpuPreset('h100-sxm')!;
/** Every batch's layers take exactly 1 s (32 layers x 1/32 s), nothing else costs time. */
const ONE_SECOND_OF_LAYERS = { ...FIXED_STEP(0), stepOverheadS: 0, layerOverheadS: 1 / 32 };
/** Activations across a boundary: hidden states and residual, 2 x 4096 x 2 bytes a token. */
const ACT_BYTES = 2 * 4096 * 2;
/** Within an H100 node: one direction of 900 GB/s NVLink 4, one 2 us step of the fabric. */
const xfer = (tokens: number) => 2e-6 + (tokens * ACT_BYTES) / 450e9;

function run(rows: Row[], pipelineParallel: number, tensorParallel = 1) {
  return simulate(
    specOf(workloadOf(rows), {
      gpu: H100_SXM,
      topology: defaultTopology(H100_SXM),
      timeModel: ONE_SECOND_OF_LAYERS,
      pipelineParallel,
      tensorParallel,
      engine: { numGpuBlocks: 1000 },
    }),
  );
}

describe('pipeline parallelism', () => {
  it('splits a step into host work, equal stages and the last stage extras that add up to the PP=1 step', () => {
    const time = new StepTimeModel(LLAMA_8B, H100_SXM, {
      tensorParallel: 1,
      weightDtype: 'bfloat16',
      kvCacheDtype: 'auto',
      coefficients: DEFAULT_TIME_MODEL,
    });
    const w = {
      ...emptyStepWork(),
      numReqs: 9,
      newTokens: 520,
      numSampled: 8,
      attnPairs: 9e5,
      kvReadTokens: 8000,
    };
    Object.assign(w, { prefillReqs: 1, prefillTokens: 512, prefillPairs: 131_328, prefillKvRead: 0 });
    for (const stages of [2, 4]) {
      const p = time.pipelineStep(w, stages, {} as never);
      expect(p.hostS + stages * p.stageS + p.lastS).toBeCloseTo(time.stepTime(w), 12);
    }
  });

  it('a lone request: each step costs PP=1 time plus one transfer, and half the stage time is bubble', () => {
    const rows = [{ t: 0, in: 16, out: 3 }];
    const one = run(rows, 1);
    expect(one.requests.firstTokenS[0]).toBe(1);
    expect(one.requests.finishS[0]).toBe(3);
    expect(one.result.pipeline).toBeUndefined();

    const two = run(rows, 2);
    // Prefill (16 tokens): 0.5 s, send 16 tokens' activations, 0.5 s; then two decodes of 1 token.
    expect(two.requests.firstTokenS[0]).toBeCloseTo(1 + xfer(16), 12);
    expect(two.requests.finishS[0]).toBeCloseTo(3 + xfer(16) + 2 * xfer(1), 12);
    const span = 3 + xfer(16) + 2 * xfer(1);
    // Stages computed 3 x (0.5 + 0.5) s out of 2 stages x span: one batch at a time leaves half idle.
    const p = two.result.pipeline!;
    expect(p.stages).toBe(2);
    expect(p.bubble_fraction).toBeCloseTo(1 - 3 / (2 * span), 12);
    expect(p.transfer_s).toBeCloseTo(xfer(16) + 2 * xfer(1), 12);
    expect(two.result.meta.gpus).toBe(2);
  });

  it('keeps a second batch in flight: a request arriving mid-batch enters stage 1 as soon as it is free', () => {
    const rows = [
      { t: 0, in: 16, out: 3 },
      { t: 0.25, in: 16, out: 3 },
    ];
    // PP=1: B waits for A's step to end and, under async scheduling (vLLM's default), for the
    // step already planned after it: first token at 3 (at 2 without async scheduling).
    expect(run(rows, 1).requests.firstTokenS[1]).toBe(3);
    // PP=2: B is scheduled at 0.25 while A is in flight, takes stage 1 at 0.5 and stage 2 after A.
    const two = run(rows, 2);
    expect(two.requests.firstTokenS[0]).toBeCloseTo(1 + xfer(16), 12);
    expect(two.requests.firstTokenS[1]).toBeCloseTo(1.5 + xfer(16), 12);
    // Both batches keep cycling, so the stages idle less than with one request.
    expect(two.result.pipeline!.bubble_fraction).toBeLessThan(
      run([rows[0]], 2).result.pipeline!.bubble_fraction,
    );
    expect(two.leakedBlocks).toEqual([0]);
  });

  it('places stages node by node: boundaries between nodes go over the network', () => {
    const topo = defaultTopology(H100_SXM);
    expect(pipelinePlacement(topo, 4, 4).interNodeBoundary).toEqual([false, true, false]);
    expect(pipelinePlacement(topo, 8, 2)).toEqual({ interNodeBoundary: [true], nodesPerReplica: 2 });
    expect(pipelinePlacement(topo, 16, 2)).toEqual({ interNodeBoundary: [true], nodesPerReplica: 4 });
    // TP8 x PP2 on 8-GPU nodes: the one boundary is the network (400 Gb/s a GPU: 50 GB/s, 5 us).
    const r = run([{ t: 0, in: 16, out: 1 }], 2, 8).result;
    expect(r.pipeline!.transfer_s).toBeCloseTo(5e-6 + (16 * ACT_BYTES) / 50e9, 12);
    expect(r.meta.gpus).toBe(16);
  });

  it('writes results with pipeline and offload sections the result schema accepts', () => {
    const schema = JSON.parse(
      fs.readFileSync(path.resolve(__dirname, '../schemas/simulation-result.schema.json'), 'utf8'),
    );
    const validate = new Ajv2020({ allErrors: true }).compile(schema);
    const r = simulate(
      specOf(
        workloadOf([
          { t: 0, in: 100, out: 20, group: 0, prefix: 64 },
          { t: 1, in: 100, out: 20, group: 0, prefix: 64 },
        ]),
        {
          gpu: H100_SXM,
          topology: defaultTopology(H100_SXM),
          pipelineParallel: 2,
          kvOffload: { cpuGiB: 1, hostMemoryGiB: 2048, numCpuBlocks: 512 },
        },
      ),
    ).result;
    expect(r.pipeline).toBeDefined();
    expect(r.kv_offload).toBeDefined();
    expect(validate(JSON.parse(JSON.stringify(r))), JSON.stringify(validate.errors)).toBe(true);
  });

  it('completes every request under load with PP=4, blocks all returned', () => {
    const rows: Row[] = [];
    for (let i = 0; i < 200; i++) rows.push({ t: i * 0.05, in: 50 + (i % 7) * 40, out: 5 + (i % 11) * 3 });
    const r = simulate(
      specOf(workloadOf(rows), {
        gpu: H100_SXM,
        topology: defaultTopology(H100_SXM),
        pipelineParallel: 4,
        engine: { numGpuBlocks: 120, maxNumBatchedTokens: 256, maxNumSeqs: 16 },
      }),
    );
    expect(r.result.completed).toBe(200);
    expect(r.result.total_output_tokens).toBe(rows.reduce((a, x) => a + x.out, 0));
    expect(r.leakedBlocks).toEqual([0]);
    expect(r.result.pipeline!.bubble_fraction).toBeGreaterThan(0);
    expect(r.result.pipeline!.bubble_fraction).toBeLessThan(1);
  });
});

describe('pipelineParallel in the spec', () => {
  const base = LLAMA_70B_TP4_RAW;
  const resolve = (raw: Record<string, unknown>) => resolveSimulationSpec(raw, { baseDir: __dirname });

  it('refuses a degree that does not divide the layers, naming the field', () => {
    expect(() => resolve({ ...base, pipelineParallel: 3 })).toThrow(
      /pipelineParallel: 3 does not divide the model's 80 layers/,
    );
    expect(() => resolve({ ...base, pipelineParallel: 0 })).toThrow(/pipelineParallel/);
    expect(() => resolve({ ...base, pipelineParallel: 4, topology: { nodes: 1 } })).toThrow(
      /pipelineParallel: tensorParallel 4 x pipelineParallel 4 = 16 GPUs are more than the topology's 8/,
    );
  });

  it('gives each GPU a stage of the weights and KV: more blocks per replica', () => {
    const one = resolve(base);
    const two = resolve({ ...base, pipelineParallel: 2 });
    expect(two.pipelineParallel).toBe(2);
    // Half the weights per GPU leaves more room, and each block takes half the bytes per GPU.
    expect(two.engine.numGpuBlocks).toBeGreaterThan(2 * one.engine.numGpuBlocks);
  });
});
