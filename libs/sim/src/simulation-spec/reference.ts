/**
 * The simulation spec, key by key: the one table the validator takes its allowed keys from
 * (SPEC_KEYS, ENGINE_KEYS, FUSION_KEYS) and the spec reference in docs/ is generated from, so the
 * two cannot drift. A test holds every default here to what resolveSimulationSpec fills in.
 */
export interface SpecField {
  /** Dotted path, e.g. `engine.blockSize`; `workload.*` keys depend on the workload's kind. */
  path: string;
  /** What it takes. */
  type: string;
  /** The default, in words when it is derived; `required` when there is none. */
  default: string;
  /** Unit of a number, or `-`. */
  unit: string;
  description: string;
}

export const SPEC_FIELDS: readonly SpecField[] = [
  {
    path: 'model',
    type: 'preset id | path to config.json | inline config keys',
    default: 'required',
    unit: '-',
    description:
      'Hugging Face id of a preset (case-insensitive; -Instruct, -hf, -chat and Meta- variants resolve to the same architecture), a path to a config.json relative to the spec, or its keys inline (snake_case)',
  },
  {
    path: 'gpu',
    type: 'preset id | inline GPU',
    default: 'required',
    unit: '-',
    description:
      '`kvplan gpus` lists the presets; inline: {name, memoryGiB, memoryBandwidthGBps, bf16Tflops, fp8Tflops, interconnectGBps, fabric, gpusPerNode}',
  },
  {
    path: 'tensorParallel',
    type: 'integer >= 1',
    default: '1',
    unit: 'GPUs per replica',
    description: 'must divide the attention heads, and divide or be a multiple of the KV heads',
  },
  {
    path: 'pipelineParallel',
    type: 'integer >= 1',
    default: '1',
    unit: 'stages per replica',
    description:
      "vLLM's pipeline_parallel_size: the layers split into this many stages of tensorParallel GPUs each, with as many batches in flight; must divide the layers. Stages beyond one node talk over the inter-node network",
  },
  {
    path: 'kvOffload',
    type: 'mapping',
    default: 'off',
    unit: '-',
    description:
      "CPU KV offload as vLLM's OffloadingConnector (kv_offloading_size): every full block is also stored in a CPU block pool (LRU); prefix hits and preempted requests' blocks found there are loaded over PCIe instead of recomputed",
  },
  {
    path: 'kvOffload.cpuGiB',
    type: 'number > 0',
    default: 'required',
    unit: 'GiB per replica',
    description: "size of the CPU block pool, summed over the replica's GPUs (as kv_offloading_size)",
  },
  {
    path: 'kvOffload.hostMemoryGiB',
    type: 'number > 0',
    default: "the GPU preset's node (`kvplan gpus`)",
    unit: 'GiB per node',
    description: 'host memory of one node; the CPU pools of the replicas on a node must fit in it',
  },
  {
    path: 'dataParallel',
    type: 'integer >= 1',
    default: '1',
    unit: 'ranks per replica',
    description:
      "vLLM's data_parallel_size: engines of tensorParallel GPUs each, own scheduler and KV cache (attention data-parallel); for a MoE model they share the MoE layers and step in lockstep (a replica is tensorParallel x dataParallel GPUs)",
  },
  {
    path: 'expertParallel',
    type: 'boolean',
    default: 'false',
    unit: '-',
    description:
      "vLLM's enable_expert_parallel: whole experts spread over the tensorParallel x dataParallel GPUs (which must divide the experts), all-to-all dispatch and combine for the top-k routing; false: every expert sliced over them",
  },
  {
    path: 'moe',
    type: 'mapping',
    default: '{}',
    unit: '-',
    description: 'MoE routing assumptions',
  },
  {
    path: 'moe.loadImbalance',
    type: 'number in [1, 64]',
    default: '1.1',
    unit: 'x even split',
    description:
      "busiest expert-parallel rank's routed tokens over an even split on large batches (expert popularity; 1: perfectly balanced, as with a load balancer); small batches add the sampling spread of top-k routing; results report its cost (meta.moe.imbalance_ms_per_step)",
  },
  {
    path: 'replicas',
    type: 'integer >= 1',
    default: '1',
    unit: 'replicas',
    description: 'independent engines (each tensorParallel x dataParallel GPUs)',
  },
  {
    path: 'router',
    type: 'least-loaded | round-robin',
    default: 'least-loaded',
    unit: '-',
    description: 'how requests are spread over replicas',
  },
  {
    path: 'topology',
    type: 'mapping',
    default: "the GPU preset's fabric, 8 GPUs a node, 400 Gb/s per GPU between nodes",
    unit: '-',
    description:
      'where the GPUs sit; collectives (all-reduce, all-gather, all-to-all) are costed from it, or from measured curves inside a node on the measured fabric',
  },
  {
    path: 'topology.fabric',
    type: 'nvlink3 | nvlink4 | nvlink5 | pcie4 | pcie5 | pcie6',
    default:
      "the GPU's (A100 nvlink3, H100/H200 SXM nvlink4, B200 nvlink5, H100 PCIe and RTX PRO 6000 pcie5, L40S, L4, RTX 4090 pcie4)",
    unit: '-',
    description:
      'fabric between the GPUs of a node; a new fabric brings its own bandwidth, latency and efficiency',
  },
  {
    path: 'topology.linkGBps',
    type: 'number > 0',
    default: "the GPU's interconnectGBps (the fabric's datasheet figure)",
    unit: 'GB/s per GPU, both directions',
    description: 'fabric bandwidth; collectives move data at half of it each way, times linkEfficiency',
  },
  {
    path: 'topology.linkLatencyUs',
    type: 'number >= 0',
    default: '2 on NVLink, 4 on PCIe',
    unit: 'µs',
    description: 'one step of a collective inside a node',
  },
  {
    path: 'topology.linkEfficiency',
    type: 'number in (0, 1]',
    default: '0.75 on NVLink, 0.25 on PCIe (measured all-reduce kernels)',
    unit: 'fraction',
    description: 'share of the per-direction link bandwidth collectives reach on large messages',
  },
  {
    path: 'topology.gpusPerNode',
    type: 'integer >= 1',
    default: '8',
    unit: 'GPUs',
    description: 'GPUs on one fabric; a group of more crosses the network',
  },
  {
    path: 'topology.nodes',
    type: 'integer >= 1',
    default: 'as many as the deployment needs',
    unit: 'nodes',
    description: 'nodes available to one replica: its GPUs (tensorParallel x dataParallel) must fit',
  },
  {
    path: 'topology.networkGBps',
    type: 'number > 0',
    default: '50 (one 400 Gb/s NIC per GPU; B200: 100)',
    unit: 'GB/s per GPU, each way',
    description: 'network between nodes',
  },
  {
    path: 'topology.networkLatencyUs',
    type: 'number >= 0',
    default: '5',
    unit: 'µs',
    description: 'one step of a collective across nodes',
  },
  {
    path: 'topology.collectives',
    type: 'auto | topology',
    default: 'auto',
    unit: '-',
    description:
      'auto: measured all-reduce curves inside a node where the kernel data has them on this fabric; topology: always the ring/tree model',
  },
  {
    path: 'engine',
    type: 'mapping',
    default: '{}',
    unit: '-',
    description: 'vLLM engine settings, per replica',
  },
  {
    path: 'engine.blockSize',
    type: 'power of two, 1..256',
    default: '16',
    unit: 'tokens',
    description: 'tokens per KV-cache block',
  },
  {
    path: 'engine.maxNumSeqs',
    type: 'integer >= 1',
    default: '1024 on GPUs of 70 GiB or more other than A100, else 256',
    unit: 'sequences',
    description: "most requests in one step (vLLM V1's API-server default for the GPU class)",
  },
  {
    path: 'engine.maxNumBatchedTokens',
    type: 'integer >= 1',
    default: '8192 on GPUs of 70 GiB or more other than A100, else 2048',
    unit: 'tokens',
    description: 'token budget of one step (chunked prefill)',
  },
  {
    path: 'engine.maxModelLen',
    type: 'integer >= 1',
    default: "the model's context length",
    unit: 'tokens',
    description: 'longest prompt plus output; the KV cache must hold one such request',
  },
  {
    path: 'engine.gpuMemoryUtilization',
    type: 'number in (0, 1]',
    default: '0.9',
    unit: 'fraction',
    description: "share of the GPU's memory vLLM may use",
  },
  {
    path: 'engine.numGpuBlocks',
    type: 'integer >= 1',
    default: 'derived as vLLM does (memory x utilisation - weights - activations - overhead)',
    unit: 'blocks per replica',
    description: 'forces the KV-cache size',
  },
  {
    path: 'engine.enablePrefixCaching',
    type: 'boolean',
    default: 'true',
    unit: '-',
    description: 'automatic prefix caching of full blocks',
  },
  {
    path: 'engine.asyncScheduling',
    type: 'boolean',
    default: 'true',
    unit: '-',
    description:
      "vLLM's async scheduling (its default since 0.14): a request arriving during a step joins the step after next; ignored under pipeline parallelism",
  },
  {
    path: 'engine.kvCacheDtype',
    type: 'auto | fp8 | fp8_e4m3 | fp8_e5m2 | bfloat16 | float16 ...',
    default: 'auto',
    unit: '-',
    description: 'auto: the weight dtype',
  },
  {
    path: 'engine.weightDtype',
    type: 'bfloat16 | float16 | float32 | fp8 ...',
    default: "the model's dtype",
    unit: '-',
    description: 'dtype the weights are served in',
  },
  {
    path: 'workload',
    type: 'trace | generator',
    default: 'required',
    unit: '-',
    description: 'a trace file to replay, or a generator of requests',
  },
  {
    path: 'workload.trace',
    type: 'path',
    default: '-',
    unit: '-',
    description:
      'CSV or JSON Lines trace relative to the spec (kvplan columns, Azure LLM trace or Mooncake JSONL); with startS, durationS, timeScale, maxRequests to cut and rescale it',
  },
  {
    path: 'workload.arrival',
    type: '{process: poisson | gamma | constant, rate, burstiness?}',
    default: 'required unless stages are given',
    unit: 'rate: requests/s',
    description: 'arrival process; burstiness (gamma only) is the shape: < 1 burstier than Poisson',
  },
  {
    path: 'workload.stages',
    type: '[{rate, durationS}]',
    default: '-',
    unit: 'requests/s, s',
    description: 'piecewise-constant rates instead of arrival.rate',
  },
  {
    path: 'workload.numRequests',
    type: 'integer >= 1',
    default: 'required unless stages are given',
    unit: 'requests',
    description: 'requests to generate',
  },
  {
    path: 'workload.inputTokens',
    type: 'DIST',
    default: 'required',
    unit: 'tokens',
    description:
      'prompt lengths: {fixed: N}, {uniform: [lo, hi]}, {lognormal: {median, sigma, max?}} or {empirical: PATH}',
  },
  {
    path: 'workload.outputTokens',
    type: 'DIST',
    default: 'required',
    unit: 'tokens',
    description: 'output lengths, as inputTokens',
  },
  {
    path: 'workload.prefixGroups',
    type: '{count, tokens: DIST}',
    default: 'none',
    unit: '-, tokens',
    description: 'requests share one of `count` prompt prefixes of this length (prefix caching)',
  },
  {
    path: 'workload.tenants',
    type: '{count}',
    default: 'none',
    unit: 'tenants',
    description: 'tenants assigned to requests (fusion scope: tenant)',
  },
  {
    path: 'fusion',
    type: 'mapping',
    default: 'off',
    unit: '-',
    description: 'KV fusion in the simulated engine; absent: no fusion',
  },
  { path: 'fusion.mode', type: 'bff | cff', default: 'bff', unit: '-', description: 'batch or chunk fusion' },
  {
    path: 'fusion.threshold',
    type: 'number in [-1, 1]',
    default: '0.7',
    unit: 'cosine similarity',
    description: 'blocks whose keys are more similar than this fuse',
  },
  {
    path: 'fusion.scope',
    type: 'global | tenant',
    default: 'global',
    unit: '-',
    description: 'tenant: never fuse blocks of different tenants',
  },
  { path: 'fusion.window', type: 'integer >= 1', default: '4', unit: 'chunks', description: 'CFF window' },
  {
    path: 'fusion.sharedReads',
    type: 'boolean',
    default: 'false',
    unit: '-',
    description: 'model reading a fused block once per step (else fusion only adds capacity)',
  },
  {
    path: 'fusion.profile',
    type: 'path | inline kvplan-fusion-profile/1',
    default: 'parametric',
    unit: '-',
    description:
      'measured fusion profile (from `kvplan fuse --profile` or `kvplan plan --profile`); absent: a parametric default, and results say so',
  },
  {
    path: 'slo',
    type: '{ttftMs?, tpotMs?, e2elMs?}, each {p99?, p90?, p50?}',
    default: 'none',
    unit: 'ms',
    description: 'percentile latency objectives; `kvplan capacity` needs them',
  },
  { path: 'cost', type: '{gpuHourUsd}', default: 'none', unit: 'USD per GPU-hour', description: 'GPU price' },
  {
    path: 'seed',
    type: 'integer >= 0',
    default: '1',
    unit: '-',
    description: 'seed of the workload generator and the simulator',
  },
  {
    path: 'calibration',
    type: 'built-in name | path to a GPU profile | inline coefficients',
    default: 'the default fitted profile',
    unit: '-',
    description: 'step-time coefficients (`kvplan calibrate` writes a GPU profile)',
  },
  {
    path: 'timeseries',
    type: '{resolutionS}',
    default: 'none',
    unit: 's',
    description: 'record KV blocks, batch and queue every resolutionS simulated seconds',
  },
];

/** The keys directly under `section` ('' for the top level), in table order. */
export function specKeysUnder(section: string): string[] {
  const prefix = section ? `${section}.` : '';
  return SPEC_FIELDS.map((f) => f.path)
    .filter((p) => p.startsWith(prefix) && !p.slice(prefix.length).includes('.'))
    .map((p) => p.slice(prefix.length));
}

/** The spec reference as Markdown: what docs/spec-reference.md holds. */
export function specReferenceMarkdown(): string {
  const cell = (s: string) => s.replace(/\|/g, '\\|');
  const lines = [
    '# Simulation spec reference',
    '',
    '<!-- Generated from SPEC_FIELDS in libs/sim/src/simulation-spec/reference.ts by `npm run docs:spec`; do not edit. -->',
    '',
    'A spec is YAML or JSON (`kvplan simulate SPEC`, `kvplan capacity SPEC`, the `deployment` of a',
    'plan). Paths in it are relative to the spec file. Every problem is reported at once, with the',
    'path of the offending key. The JSON Schema is `libs/sim/schemas/simulation-spec.schema.json`.',
    '',
    '| key | takes | default | unit | meaning |',
    '| --- | --- | --- | --- | --- |',
    ...SPEC_FIELDS.map(
      (f) =>
        `| \`${f.path}\` | ${cell(f.type)} | ${cell(f.default)} | ${cell(f.unit)} | ${cell(f.description)} |`,
    ),
    '',
  ];
  return lines.join('\n');
}
