import * as os from 'node:os';
import * as path from 'node:path';
import { dtypeBytes, type FusionOptions, type KvDtype, type SelectedTfBackend } from '@kvplan/fusion';
import {
  captureKv,
  estimateMemory,
  evaluateFusion,
  formatBytes,
  HONOURED_CONFIG_FIELDS,
  loadModel,
  loadTokenizer,
  modelFusionProfile,
  openModelFolder,
  readPromptsFile,
  tokenizePrompts,
  WASM_HEAP_BYTES,
  writeCapturedKv,
  type Estimate,
  type FusionEvalResult,
  type LlamaModel,
  type ModelFolder,
  type TokenizedPrompt,
} from '@kvplan/model';
import { InputError, type InputIssue } from '@kvplan/sim';
import type { ParsedArgs } from '../args';
import type { Command } from '../command';
import { writeFileAtomic, type CliIo } from '../io';
import { ensureKernel, ensureTfBackend } from '../tf-backend';
import { inputFileIssue, outputFileIssue } from '../paths';
import { Progress } from '../progress';
import { withFusionInput } from './fusion-errors';
import { renderTable } from './models';

const FLAG_OF: Record<string, string> = {
  thresholds: '--threshold',
  blockSize: '--block-size',
  continuationTokens: '--continuation',
  generateTokens: '--generate',
  batchSize: '--batch',
  numQueries: '--queries',
  fusedLayers: '--layers',
  skipFirstLayers: '--skip-first',
  skipLastLayers: '--skip-last',
  chunkTokens: '--chunk-tokens',
};

const DTYPES: Record<string, KvDtype> = { f32: 'F32', f16: 'F16', bf16: 'BF16' };

/** Backend memory the model may use: the wasm heap; host memory for tfjs-node and cpu; unchecked on a GPU. */
function memoryLimit(b: SelectedTfBackend): number | null {
  if (b.choice === 'wasm') return WASM_HEAP_BYTES;
  if (b.choice === 'node-gpu') return null;
  return os.totalmem();
}

function need(args: ParsedArgs, flag: string, issues: InputIssue[], what: string): string {
  const v = args.flags[flag];
  if (typeof v !== 'string' || v === '') {
    issues.push({ path: `--${flag}`, message: `required: ${what}` });
    return '';
  }
  return v;
}

/** The prefix of model-folder issue paths: the folder as the user typed it. */
const folderLabel = (dir: string): string => `${dir.replace(/[\\/]+$/, '')}/`;

interface Loaded {
  folder: ModelFolder;
  model: LlamaModel;
  prompts: TokenizedPrompt[];
  backend: SelectedTfBackend;
}

/**
 * Checks the flags (with the subcommand's own `issues`, all reported together), then opens the
 * model folder, reads and tokenizes the prompts, picks the tfjs backend and loads the model.
 */
async function loadAll(
  args: ParsedArgs,
  io: CliIo,
  minTokens: number,
  issues: InputIssue[] = [],
): Promise<Loaded> {
  const dir = need(args, 'model', issues, 'the Hugging Face model folder');
  const promptsFile = need(args, 'prompts', issues, 'the prompts file (.jsonl, .json, .csv or text lines)');
  if (promptsFile) {
    const bad = inputFileIssue(promptsFile, io.cwd, '--prompts');
    if (bad) issues.push(bad);
  }
  for (const flag of ['out', 'profile'])
    if (typeof args.flags[flag] === 'string' && args.flags[flag] !== '') {
      const bad = outputFileIssue(args.flags[flag] as string, io.cwd, `--${flag}`);
      if (bad) issues.push(bad);
    }
  if (issues.length) throw new InputError(issues);
  const full = path.resolve(io.cwd, dir);
  const label = folderLabel(dir);
  const folder = await withFusionInput(() => openModelFolder(full, label));
  for (const w of folder.config.warnings) io.stderr(`kvplan model: ${w}\n`);
  const records = await withFusionInput(() =>
    readPromptsFile(path.resolve(io.cwd, promptsFile), promptsFile),
  );
  const needsText = records.some((r) => r.tokenIds === null);
  const tokenizer =
    needsText && folder.tokenizerFile ? await withFusionInput(() => loadTokenizer(full, label)) : null;
  const prompts = await withFusionInput(() =>
    tokenizePrompts(records, tokenizer, {
      vocabSize: folder.config.vocabSize,
      contextLength: folder.config.contextLength,
      minTokens: minTokens > 1 ? { tokens: minTokens, why: 'a prefix and the continuation' } : undefined,
    }),
  );
  const backend = await withFusionInput(() => ensureTfBackend(io));
  const loading = progress(io, 'kvplan model: loading layers', Boolean(args.flags.json));
  const model = await withFusionInput(
    () =>
      loadModel(folder, {
        memoryLimitBytes: memoryLimit(backend),
        backendName: backend.backend,
        onLayer: (l, n) => loading(l + 1, n),
      }),
    FLAG_OF,
  );
  return { folder, model, prompts, backend };
}

/** A progress callback (done of total) drawing a Progress line with its ETA; cleared when done. */
function progress(io: CliIo, what: string, json: boolean): (done: number, total: number) => void {
  const p = new Progress(io, what, { json });
  return (done, total) => {
    p.update(done / total, `${done}/${total}`);
    if (done >= total) p.done();
  };
}

const fmt = (x: number | null | undefined, d = 4): string =>
  x === null || x === undefined || Number.isNaN(x) ? '-' : x.toFixed(d);
const fmtEst = (e: Estimate | null, d = 3): string =>
  e ? `${fmt(e.value, d)}${e.interval ? ` [${fmt(e.interval[0], d)}, ${fmt(e.interval[1], d)}]` : ''}` : '-';

/** The --json document of eval-fusion (the in-memory sample left out). */
function evalJson(r: FusionEvalResult, similarityKernel: string): Record<string, unknown> {
  const { sample: _sample, ...rest } = r;
  return { format: 'kvplan-model-eval/1', ...rest, similarityKernel };
}

export const modelCommand: Command = {
  name: 'model',
  usage: 'model info|capture|eval-fusion --model DIR [--prompts FILE] ...',
  summary: 'Real model: describe a folder, capture its KV cache, measure accuracy under fusion',
  flags: {
    model: {
      type: 'string',
      description: 'Hugging Face model folder (config.json, *.safetensors, tokenizer.json)',
    },
    prompts: {
      type: 'string',
      description:
        'prompts: .jsonl/.json ({text} or {token_ids}, tenant), .csv (text/token_ids columns) or text lines',
    },
    out: { type: 'string', description: 'capture: the kvplan-kv/1 file to write' },
    dtype: { type: 'string', description: 'capture: f32, f16 or bf16', default: 'f32' },
    'block-size': { type: 'integer', description: 'tokens per KV block', default: 16 },
    queries: {
      type: 'integer',
      description: 'last-token attention queries kept per prompt (capture default 4, eval-fusion 1)',
    },
    batch: { type: 'integer', description: 'prompts prefilled (and BFF-fused) together', default: 8 },
    threshold: {
      type: 'numbers',
      description: 'eval-fusion: cosine threshold(s), comma list',
      default: [0.7],
    },
    mode: {
      type: 'string',
      description: 'eval-fusion: bff (across the batch) or cff (across chunks)',
      default: 'bff',
    },
    'chunk-tokens': { type: 'integer', description: 'CFF chunk length in tokens', default: 512 },
    window: { type: 'integer', description: 'CFF window in chunks', default: 4 },
    merge: { type: 'string', description: 'mean (paper), weighted or keep-representative', default: 'mean' },
    layers: { type: 'numbers', description: 'layers to fuse (default: all but the first and last two)' },
    'skip-first': { type: 'integer', description: 'first layers never fused', default: 2 },
    'skip-last': { type: 'integer', description: 'last layers never fused', default: 2 },
    'remove-rope': { type: 'boolean', description: 'compare keys with rotary position removed' },
    continuation: {
      type: 'integer',
      description: "eval-fusion: tokens at each prompt's end teacher-forced after the fused prefix",
      default: 16,
    },
    generate: {
      type: 'integer',
      description: 'eval-fusion: greedy tokens generated and compared',
      default: 16,
    },
    profile: {
      type: 'string',
      description: 'eval-fusion: write a fusion profile with the measured accuracy',
    },
    json: { type: 'boolean', description: 'print one JSON document' },
  },
  async run(args, io) {
    const [sub, ...extra] = args.positionals;
    if (extra.length)
      throw new InputError([{ path: 'ARGS', message: `unexpected arguments: ${extra.join(' ')}` }]);
    if (sub === 'info') return info(args, io);
    if (sub === 'capture') return capture(args, io);
    if (sub === 'eval-fusion') return evalFusion(args, io);
    throw new InputError([
      {
        path: 'SUBCOMMAND',
        message: `expected info, capture or eval-fusion, got ${sub === undefined ? 'nothing' : JSON.stringify(sub)}`,
      },
    ]);
  },
};

async function info(args: ParsedArgs, io: CliIo): Promise<number> {
  const issues: InputIssue[] = [];
  const dir = need(args, 'model', issues, 'the Hugging Face model folder');
  if (issues.length) throw new InputError(issues);
  const folder = await withFusionInput(() => openModelFolder(path.resolve(io.cwd, dir), folderLabel(dir)));
  const c = folder.config;
  const est = estimateMemory(c, null, WASM_HEAP_BYTES);
  const doc = {
    model: folder.name,
    files: folder.files,
    storedDtypes: folder.storedDtypes,
    numParameters: folder.numParameters,
    bytesOnDisk: folder.bytesOnDisk,
    float32WeightBytes: est.weightBytes + est.hostBytes,
    fitsWasmHeap: est.fits,
    tokenizer: folder.tokenizerFile !== null,
    config: c,
    honouredFields: HONOURED_CONFIG_FIELDS,
  };
  if (args.flags.json) {
    io.stdout(JSON.stringify(doc, null, 2) + '\n');
    return 0;
  }
  io.stdout(
    [
      `model        ${folder.name} (${c.modelType}, ${(folder.numParameters / 1e6).toFixed(1)}M parameters, ${folder.storedDtypes.join('/')}, ${folder.files.length} file${folder.files.length > 1 ? 's' : ''})`,
      `layers       ${c.numLayers} x hidden ${c.hiddenSize}, ${c.numHeads} heads / ${c.numKvHeads} KV heads x ${c.headDim}, MLP ${c.intermediateSize}`,
      `vocab        ${c.vocabSize}${c.tieWordEmbeddings ? ' (tied embeddings)' : ''}; tokenizer.json ${folder.tokenizerFile ? 'present' : 'absent (prompts as token ids)'}`,
      `rope         theta ${c.ropeTheta}${c.ropeScaling ? `, scaling ${JSON.stringify(c.ropeScaling)}` : ''}`,
      `context      ${c.contextLength} tokens${c.slidingWindow !== null ? ` (sliding window ${c.slidingWindow})` : ''}`,
      `memory       ${formatBytes(est.weightBytes + est.hostBytes)} of float32 weights; ${est.fits ? 'fits' : 'does NOT fit'} the wasm backend's 4 GiB heap`,
      ...c.warnings.map((w) => `warning      ${w}`),
    ].join('\n') + '\n',
  );
  return 0;
}

async function capture(args: ParsedArgs, io: CliIo): Promise<number> {
  const issues: InputIssue[] = [];
  const out = need(args, 'out', issues, 'the kvplan-kv/1 file to write');
  const dtype = DTYPES[String(args.flags.dtype).toLowerCase()];
  if (!dtype)
    issues.push({ path: '--dtype', message: `expected f32, f16 or bf16, got "${args.flags.dtype}"` });
  const { model, prompts, backend } = await loadAll(args, io, 1, issues);
  try {
    const t0 = performance.now();
    const sample = await withFusionInput(
      () =>
        captureKv(model, prompts, {
          blockSize: args.flags['block-size'] as number,
          numQueries: (args.flags.queries as number | undefined) ?? 4,
          batchSize: args.flags.batch as number,
          memoryLimitBytes: memoryLimit(backend),
          backendName: backend.backend,
          onProgress: progress(io, 'kvplan model capture: prefill', Boolean(args.flags.json)),
        }),
      FLAG_OF,
    );
    const seconds = (performance.now() - t0) / 1000;
    writeCapturedKv(path.resolve(io.cwd, out), sample, dtype);
    const i = sample.info;
    const tokens = i.seqLens.reduce((a, b) => a + b, 0);
    const bytes =
      i.numLayers * 2 * i.numSeqs * i.maxBlocks * i.blockSize * i.numKvHeads * i.headDim * dtypeBytes(dtype);
    const doc = {
      file: out,
      model: model.name,
      numSeqs: i.numSeqs,
      numLayers: i.numLayers,
      blockSize: i.blockSize,
      maxBlocks: i.maxBlocks,
      numKvHeads: i.numKvHeads,
      headDim: i.headDim,
      numQueries: i.numQueries,
      dtype,
      tokens,
      seqLens: i.seqLens,
      bytes,
      backend: backend.backend,
      prefillSeconds: Number(seconds.toFixed(3)),
      prefillTokensPerSecond: Number((tokens / seconds).toFixed(1)),
    };
    if (args.flags.json) io.stdout(JSON.stringify(doc, null, 2) + '\n');
    else
      io.stdout(
        `wrote ${out}: ${i.numSeqs} prompts, ${tokens} tokens, ${i.numLayers} layers x ${i.numKvHeads} KV heads x ${i.headDim}, ${i.blockSize}-token blocks, ${i.numQueries} queries per prompt, ${dtype} (${(bytes / 2 ** 20).toFixed(1)} MiB); prefill ${doc.prefillTokensPerSecond} tokens/s on ${backend.backend}\n`,
      );
    return 0;
  } finally {
    model.dispose();
  }
}

async function evalFusion(args: ParsedArgs, io: CliIo): Promise<number> {
  const f = args.flags;
  const C = f.continuation as number;
  const G = f.generate as number;
  const { model, prompts, backend } = await loadAll(args, io, C + 1);
  const { kernel } = await withFusionInput(() => ensureKernel(io));
  try {
    const fusion: Partial<FusionOptions> = {
      kernel,
      mode: f.mode as FusionOptions['mode'],
      merge: f.merge as FusionOptions['merge'],
      chunkTokens: f['chunk-tokens'] as number,
      window: f.window as number,
      skipFirstLayers: f['skip-first'] as number,
      skipLastLayers: f['skip-last'] as number,
      removeRope: Boolean(f['remove-rope']),
      ...(f.layers ? { fusedLayers: f.layers as number[] } : {}),
    };
    const result = await withFusionInput(
      () =>
        evaluateFusion(model, prompts, {
          thresholds: f.threshold as number[],
          fusion,
          blockSize: f['block-size'] as number,
          continuationTokens: C,
          generateTokens: G,
          batchSize: f.batch as number,
          numQueries: (f.queries as number | undefined) ?? 1,
          keepSample: typeof f.profile === 'string',
          memoryLimitBytes: memoryLimit(backend),
          backendName: backend.backend,
          clock: () => performance.now(),
          onProgress: progress(io, 'kvplan model eval-fusion', Boolean(args.flags.json)),
        }),
      FLAG_OF,
    );
    if (typeof f.profile === 'string') {
      const profile = await withFusionInput(() => modelFusionProfile(result, fusion), FLAG_OF);
      writeFileAtomic(path.resolve(io.cwd, f.profile), JSON.stringify(profile, null, 2) + '\n');
    }
    if (f.json) {
      io.stdout(JSON.stringify(evalJson(result, kernel.name), null, 2) + '\n');
      return 0;
    }
    io.stdout(
      `${result.model}: ${result.numPrompts} prompts, ${result.mode.toUpperCase()} over batches of ${result.batchSize}, fused layers ${result.fusedLayers.join(',') || 'none'}; ${result.continuationTokens}-token teacher-forced continuation, ${result.generateTokens} greedy tokens; original perplexity ${fmt(result.perplexityOriginal, 2)}; ${backend.backend}, ${fmt(result.seconds?.total ?? null, 1)} s\n\n`,
    );
    io.stdout(
      renderTable(
        [
          'threshold',
          'compression',
          'next-token agree [95% CI]',
          'KL nats',
          'ppl change',
          'greedy exact',
          'token F1',
        ],
        result.thresholds.map((t) => [
          String(t.threshold),
          t.compressionRatio === null ? '-' : `${t.compressionRatio.toFixed(2)}x`,
          fmtEst(t.nextTokenAgreement),
          fmtEst(t.klDivergence, 4),
          fmtEst(t.perplexityChange),
          fmtEst(t.greedyExactMatch, 2),
          fmtEst(t.greedyTokenF1),
        ]),
      ),
    );
    if (typeof f.profile === 'string') io.stdout(`\nwrote the fusion profile to ${f.profile}\n`);
    return 0;
  } finally {
    model.dispose();
  }
}
