import * as path from 'node:path';
import {
  DEFAULT_SYNTH_OPTIONS,
  dtypeBytes,
  openKvSample,
  synthesizeKvSample,
  validateSynthOptions,
  writeKvSample,
  type KvDtype,
  type KvSampleInfo,
  type SynthOptions,
} from '@kvplan/fusion';
import { InputError, resolveModel } from '@kvplan/sim';
import type { Command } from '../command';
import { withFusionInput } from './fusion-errors';
import { inputFileIssue, outputFileIssue, throwIssues } from '../paths';
import { Progress } from '../progress';

/** Flag -> synthetic option, for the flags and for naming them in error messages. */
const SYNTH_FLAGS: Array<[string, keyof SynthOptions, string]> = [
  ['seqs', 'numSeqs', 'sequences'],
  ['blocks', 'blocksPerSeq', 'blocks per sequence'],
  ['layers', 'numLayers', "layers (default: the model's, else 8)"],
  ['block-size', 'blockSize', 'tokens per block'],
  ['kv-heads', 'numKvHeads', "KV heads (default: the model's, else 8)"],
  ['head-dim', 'headDim', "head dimension (default: the model's, else 128)"],
  ['queries', 'numQueries', 'attention queries per sequence stored as layers.<l>.query (0: none)'],
  ['heads', 'numHeads', "query heads (default: the model's, else 4 x kv heads)"],
  ['templates', 'numTemplates', 'templates shared across requests'],
  ['template-fraction', 'templateFraction', "mean fraction of a sequence's blocks from its template"],
  ['min-fidelity', 'minFidelity', "a templated block's template weight is uniform in [this, 1]"],
  ['topics', 'numTopics', 'topics shared across requests'],
  ['near-dup', 'nearDuplicateRate', "fraction of blocks nearly duplicating an earlier request's"],
  ['noise', 'noise', 'noise scale (grows with depth)'],
  ['drift', 'drift', 'position-drift scale'],
  ['tenants', 'tenants', 'tenants (1: none in the metadata)'],
  ['rope-theta', 'ropeTheta', 'apply RoPE with this theta (metadata rope=applied)'],
  ['seed', 'seed', 'seed'],
];

const DTYPES: Record<string, KvDtype> = {
  f32: 'F32',
  float32: 'F32',
  f16: 'F16',
  float16: 'F16',
  bf16: 'BF16',
  bfloat16: 'BF16',
};

export const kvCommand: Command = {
  name: 'kv',
  usage: 'kv synth OUT.safetensors [options] | kv info FILE',
  summary: 'Write a synthetic KV sample (kvplan-kv/1), or describe one',
  flags: {
    model: { type: 'string', description: 'model preset or config.json: layers, KV heads, head dim (synth)' },
    ...Object.fromEntries(
      SYNTH_FLAGS.map(([flag, key, description]) => [
        flag,
        {
          type: [
            'templateFraction',
            'minFidelity',
            'nearDuplicateRate',
            'noise',
            'drift',
            'ropeTheta',
          ].includes(key)
            ? ('number' as const)
            : ('integer' as const),
          description: `${description} (default ${DEFAULT_SYNTH_OPTIONS[key] ?? 'none'})`,
        },
      ]),
    ),
    lengths: {
      type: 'string',
      description: 'full (every block filled) or ragged (60-100 %, partial tails)',
      default: 'full',
    },
    dtype: { type: 'string', description: 'f32, f16 or bf16', default: 'f32' },
    'max-gib': {
      type: 'number',
      description: 'refuse to write a sample larger than this many GiB (default 8)',
      default: 8,
      check: (v) => ((v as number) > 0 ? null : `expected a positive number of GiB, got ${String(v)}`),
    },
    json: { type: 'boolean', description: 'print one JSON document' },
  },
  async run(args, io) {
    const [sub, file, ...extra] = args.positionals;
    if (sub === 'info') {
      if (!file || extra.length)
        throw new InputError([
          { path: 'FILE', message: 'expected exactly one KV sample file: kvplan kv info FILE' },
        ]);
      throwIssues([inputFileIssue(file, io.cwd, 'FILE')]);
      const r = openKvSample(path.resolve(io.cwd, file));
      r.close();
      const info = { ...r.info, file };
      if (args.flags.json) io.stdout(JSON.stringify(info, null, 2) + '\n');
      else io.stdout(describeInfo(info));
      return 0;
    }
    if (sub !== 'synth')
      throw new InputError([
        {
          path: 'SUBCOMMAND',
          message: `expected synth or info, got ${sub === undefined ? 'nothing' : JSON.stringify(sub)}`,
        },
      ]);
    if (!file || extra.length)
      throw new InputError([
        { path: 'OUT', message: 'expected exactly one output file: kvplan kv synth OUT.safetensors' },
      ]);
    const issues: Array<{ path: string; message: string }> = [];
    const opts: Partial<SynthOptions> = {};
    if (typeof args.flags.model === 'string') {
      const m = resolveModel(args.flags.model, { baseDir: io.cwd, path: '--model' });
      Object.assign(opts, {
        numLayers: m.numLayers,
        numKvHeads: m.numKvHeads,
        headDim: m.headDim,
        numHeads: m.numHeads,
        model: m.id,
      });
    }
    for (const [flag, key] of SYNTH_FLAGS)
      if (args.flags[flag] !== undefined) (opts as Record<string, unknown>)[key] = args.flags[flag];
    const lengths = String(args.flags.lengths);
    if (lengths !== 'full' && lengths !== 'ragged')
      issues.push({ path: '--lengths', message: `expected full or ragged, got "${lengths}"` });
    else opts.lengths = lengths;
    const dtype = DTYPES[String(args.flags.dtype).toLowerCase()];
    if (!dtype)
      issues.push({ path: '--dtype', message: `expected f32, f16 or bf16, got "${args.flags.dtype}"` });
    else opts.dtype = dtype;
    const flagOf = Object.fromEntries(SYNTH_FLAGS.map(([flag, key]) => [key, `--${flag}`]));
    const named = (list: Array<{ path: string; message: string }>) =>
      list.map((i) => ({
        path: i.path.replace(/^synth\.(\w+)/, (_, k: string) => flagOf[k] ?? `--${k}`),
        message: i.message,
      }));
    // Every option and the size of the file checked before anything is generated or allocated.
    const full: SynthOptions = { ...DEFAULT_SYNTH_OPTIONS, ...opts };
    const optionIssues = named(validateSynthOptions(full).issues);
    issues.push(...optionIssues, ...[outputFileIssue(file, io.cwd, 'OUT')].filter((i) => i !== null));
    const shape = [
      full.numLayers,
      full.numSeqs,
      full.blocksPerSeq,
      full.blockSize,
      full.numKvHeads,
      full.headDim,
    ];
    if (dtype && shape.every((v) => Number.isInteger(v) && v > 0)) {
      const estimate = synthBytes(full, dtype);
      const maxGiB = args.flags['max-gib'] as number;
      if (estimate > maxGiB * 2 ** 30)
        issues.push({
          path: '--seqs/--blocks',
          message:
            `the sample would take ${(estimate / 2 ** 30).toFixed(1)} GiB (${full.numLayers} layers x keys and values x ` +
            `${full.numSeqs} sequences x ${full.blocksPerSeq} blocks x ${full.blockSize} tokens x ${full.numKvHeads} KV heads x ` +
            `${full.headDim} x ${dtypeBytes(dtype)} bytes), more than --max-gib ${maxGiB}`,
        });
    }
    if (issues.length) throw new InputError(issues);
    const sample = await withFusionInput(() => synthesizeKvSample(opts)).catch((err: unknown) => {
      if (err instanceof InputError) throw new InputError(named(err.issues));
      throw err;
    });
    const info = sample.info;
    const bytes = synthBytes(
      {
        numLayers: info.numLayers,
        numSeqs: info.numSeqs,
        blocksPerSeq: info.maxBlocks,
        blockSize: info.blockSize,
        numKvHeads: info.numKvHeads,
        headDim: info.headDim,
      },
      dtype,
    );
    const out = path.resolve(io.cwd, file);
    const progress = new Progress(io, `kvplan kv synth: ${(bytes / 2 ** 20).toFixed(1)} MiB`, {
      json: Boolean(args.flags.json),
    });
    writeKvSample(out, sample, {
      onLayer: (l) => progress.update((l + 1) / info.numLayers, `layer ${l + 1}/${info.numLayers}`),
    });
    progress.done();
    const described = { ...info, file, bytes };
    if (args.flags.json) io.stdout(JSON.stringify(described, null, 2) + '\n');
    else
      io.stdout(`wrote ${file} (synthetic, ${(bytes / 2 ** 20).toFixed(1)} MiB)\n` + describeInfo(described));
    return 0;
  },
};

/** Bytes of the keys and values of a synthetic sample (queries aside). */
function synthBytes(
  o: Pick<SynthOptions, 'numLayers' | 'numSeqs' | 'blocksPerSeq' | 'blockSize' | 'numKvHeads' | 'headDim'>,
  dtype: KvDtype,
): number {
  return (
    o.numLayers * 2 * o.numSeqs * o.blocksPerSeq * o.blockSize * o.numKvHeads * o.headDim * dtypeBytes(dtype)
  );
}

/** The text form of a sample's header (`kv info`, and `kv synth` after writing). */
function describeInfo(
  i: Pick<
    KvSampleInfo,
    | 'file'
    | 'numSeqs'
    | 'numLayers'
    | 'maxBlocks'
    | 'blockSize'
    | 'numKvHeads'
    | 'headDim'
    | 'numQueries'
    | 'dtype'
    | 'seqLens'
    | 'model'
    | 'synthetic'
    | 'rope'
    | 'tenants'
  >,
): string {
  const tokens = i.seqLens.reduce((a, b) => a + b, 0);
  return (
    [
      `sample      ${i.file ?? '(in memory)'}${i.synthetic ? ' (synthetic)' : ''}`,
      `model       ${i.model ?? '-'}`,
      `shape       ${i.numSeqs} sequences x ${i.maxBlocks} blocks x ${i.blockSize} tokens, ${i.numLayers} layers, ${i.numKvHeads} KV heads x ${i.headDim}, ${i.dtype}`,
      `tokens      ${tokens} (full blocks ${i.seqLens.reduce((a, n) => a + Math.min(i.maxBlocks, Math.floor(n / i.blockSize)), 0)})`,
      `queries     ${i.numQueries > 0 ? `${i.numQueries} per sequence` : 'none (keys serve as proxy queries)'}`,
      `rope        ${i.rope.state}${i.rope.theta ? ` (theta ${i.rope.theta})` : ''}`,
      `tenants     ${i.tenants ? new Set(i.tenants).size : '-'}`,
    ].join('\n') + '\n'
  );
}
