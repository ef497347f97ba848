import { defaultEngineLimits, hostLinksFor, listGpuPresets, type GpuSpec } from '@kvplan/sim';
import type { Command } from '../command';
import { renderTable } from './models';

/**
 * One GPU as `kvplan gpus --json` prints it: the preset, vLLM's engine defaults for its class and
 * its node's host side (PCIe host link for CPU KV offload, host memory).
 */
export function describeGpu(g: GpuSpec) {
  return { ...g, engineDefaults: defaultEngineLimits(g), host: hostLinksFor(g) };
}

export const gpusCommand: Command = {
  name: 'gpus',
  usage: 'gpus [--json]',
  summary: 'List the GPU presets (datasheet memory, bandwidth, dense TFLOP/s, interconnect)',
  maxPositionals: 0,
  flags: {
    json: { type: 'boolean', description: 'print one JSON document' },
  },
  async run(args, io) {
    const gpus = listGpuPresets();
    if (args.flags.json) {
      io.stdout(JSON.stringify({ gpus: gpus.map(describeGpu) }, null, 2) + '\n');
      return 0;
    }
    const rows = gpus.map((g) => {
      const d = defaultEngineLimits(g);
      return [
        g.id,
        g.name,
        g.memoryGiB,
        g.memoryBandwidthGBps,
        g.bf16Tflops,
        g.fp8Tflops,
        g.interconnectGBps,
        `${g.fabric} x${g.gpusPerNode}`,
        hostLinksFor(g).hostMemoryGiB,
        `${d.maxNumSeqs}/${d.maxNumBatchedTokens}`,
      ];
    });
    io.stdout(
      renderTable(
        [
          'id',
          'name',
          'memory_GiB',
          'bandwidth_GB/s',
          'bf16_TFLOPs',
          'fp8_TFLOPs',
          'link_GB/s',
          'fabric',
          'host_GiB',
          'seqs/tokens',
        ],
        rows,
      ) +
        '\nTFLOP/s are dense (no sparsity). memory_GiB is what CUDA programs can use. A100: no FP8 units, FP8 = BF16 rate. fabric: between the GPUs of a node x GPUs a node (spec `topology` overrides it). host_GiB: host memory of a node, for CPU KV offload (`kvOffload.hostMemoryGiB` overrides it).\n',
    );
    return 0;
  },
};
