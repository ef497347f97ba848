import * as path from 'node:path';
import {
  analyzeFusion,
  blockDim,
  measureFusion,
  openKvSample,
  resolveFusionOptions,
  toFuseJson,
  type FusionAnalysis,
  type FusionOptions,
  type KvFileReader,
} from '@kvplan/fusion';
import { InputError } from '@kvplan/sim';
import type { Command } from '../command';
import { writeFileAtomic } from '../io';
import { ensureKernel, ensureTfBackend } from '../tf-backend';
import { cliLayerThreads } from '../fusion-threads';
import { attentionPercent } from '../format';
import { Progress } from '../progress';
import { inputFileIssue, outputFileIssue, throwIssues } from '../paths';
import { withFusionInput } from './fusion-errors';
import { renderTable } from './models';

const FLAG_OF: Record<string, string> = {
  thresholds: '--threshold',
  threshold: '--threshold',
  fusedLayers: '--layers',
  skipFirstLayers: '--skip-first',
  skipLastLayers: '--skip-last',
  measureRecall: '--recall',
  topK: '--top-k',
};

export const fuseCommand: Command = {
  name: 'fuse',
  usage: 'fuse KV_FILE --mode bff|cff --threshold 0.7[,...] [--json] [--profile OUT]',
  summary: 'Fuse the KV blocks of a sample (BFF/CFF): surviving blocks, distortion, fusion profile',
  maxPositionals: 1,
  flags: {
    mode: {
      type: 'string',
      description: 'bff (across the sequences of the batch) or cff (across the chunks of a prompt)',
      default: 'bff',
    },
    threshold: {
      type: 'numbers',
      description: 'cosine threshold(s) in [-1, 1], comma list for a sweep',
      default: [0.7],
    },
    json: { type: 'boolean', description: 'print the kvplan fuse --json document' },
    profile: {
      type: 'string',
      description: 'write the fusion profile (kvplan-fusion-profile/1) to this file',
    },
    'chunk-tokens': { type: 'integer', description: 'CFF chunk length in tokens', default: 512 },
    window: { type: 'integer', description: 'CFF window in chunks', default: 4 },
    merge: {
      type: 'string',
      description: 'mean (paper), weighted (cluster-size-weighted) or keep-representative',
      default: 'mean',
    },
    scope: {
      type: 'string',
      description: 'global, or tenant (never fuse blocks of different tenants)',
      default: 'global',
    },
    search: {
      type: 'string',
      description: 'dense (exact) or sketch (count-sketch candidates, exact check)',
      default: 'dense',
    },
    'sketch-dim': { type: 'integer', description: 'sketch width', default: 1024 },
    'sketch-margin': {
      type: 'number',
      description: 'candidate margin below the threshold (default 3/sqrt(sketch-dim))',
    },
    recall: {
      type: 'boolean',
      description: 'with --search sketch: also run the exact search and report recall',
    },
    layers: { type: 'numbers', description: 'layers to fuse (default: all but the first and last two)' },
    'skip-first': { type: 'integer', description: 'first layers never fused', default: 2 },
    'skip-last': { type: 'integer', description: 'last layers never fused', default: 2 },
    'remove-rope': {
      type: 'boolean',
      description: 'compare keys with rotary position removed (needs rope_theta)',
    },
    attention: {
      type: 'boolean',
      description: 'measure attention-output error (--no-attention to skip)',
      default: true,
    },
    'top-k': { type: 'integer', description: 'top-k attended positions compared', default: 8 },
    'proxy-queries': {
      type: 'integer',
      description: 'without stored queries: last keys per sequence used as queries',
      default: 4,
    },
    mapping: { type: 'boolean', description: "--json: add every layer's block -> representative array" },
    'bytes-per-element': {
      type: 'number',
      description: 'KV bytes per element for bytes freed (default: the sample dtype)',
    },
    model: { type: 'string', description: "profile's model field (default: the sample's metadata)" },
  },
  async run(args, io) {
    if (args.positionals.length !== 1) {
      throw new InputError([
        { path: 'KV_FILE', message: `expected exactly one KV sample file, got ${args.positionals.length}` },
      ]);
    }
    const f = args.flags;
    const bpe = f['bytes-per-element'] as number | undefined;
    const file = args.positionals[0];
    throwIssues([
      inputFileIssue(file, io.cwd, 'KV_FILE'),
      typeof f.profile === 'string' ? outputFileIssue(f.profile, io.cwd, '--profile') : null,
      bpe !== undefined && !(bpe > 0)
        ? { path: '--bytes-per-element', message: `expected a number > 0, got ${bpe}` }
        : null,
    ]);
    const options: Partial<FusionOptions> = {
      mode: f.mode as FusionOptions['mode'],
      thresholds: f.threshold as number[],
      merge: f.merge as FusionOptions['merge'],
      scope: f.scope as FusionOptions['scope'],
      chunkTokens: f['chunk-tokens'] as number,
      window: f.window as number,
      search: f.search as FusionOptions['search'],
      sketchDim: f['sketch-dim'] as number,
      sketchMargin: (f['sketch-margin'] as number | undefined) ?? null,
      measureRecall: Boolean(f.recall),
      fusedLayers: (f.layers as number[] | undefined) ?? null,
      skipFirstLayers: f['skip-first'] as number,
      skipLastLayers: f['skip-last'] as number,
      removeRope: Boolean(f['remove-rope']),
      attention: f.attention !== false,
      topK: f['top-k'] as number,
      proxyQueries: f['proxy-queries'] as number,
      keepMapping: Boolean(f.mapping),
      // The profile's rate-distortion fit uses the cross-pair similarity distribution.
      similarityHistogram: typeof f.profile === 'string',
    };
    let reader: KvFileReader | null = null;
    try {
      // Everything about the input is checked before any work: the file header, then the options.
      const r = openKvSample(path.resolve(io.cwd, file));
      reader = r;
      const info = { ...r.info, file };
      // The reader refuses a layer holding NaN or infinity (bad input naming the tensor).
      const source = { info, readLayer: (l: number) => r.readLayer(l) };
      const resolved = await withFusionInput(() => resolveFusionOptions(options, info), FLAG_OF);
      const { kernel } = await withFusionInput(() => ensureKernel(io));
      if (options.attention || kernel.name.startsWith('tfjs')) await ensureTfBackend(io);
      const progress = new Progress(io, 'kvplan fuse', { json: Boolean(f.json) });
      const pool = cliLayerThreads(
        { path: path.resolve(io.cwd, file), name: file },
        resolved.fused.length,
        info.numSeqs * info.maxBlocks * blockDim(info),
        kernel,
        io,
      );
      const hooks = {
        bytesPerElement: bpe,
        ...pool.hooks(),
        onLayer: (_res: unknown, i: number, n: number) => progress.update((i + 1) / n, `layer ${i + 1}/${n}`),
      };
      const withKernel = { ...options, kernel };
      let measured: Awaited<ReturnType<typeof measureFusion>> | null = null;
      let analysis: Awaited<ReturnType<typeof analyzeFusion>>;
      try {
        // With --profile: libs/fusion's one analyse -> fit -> profile composition.
        if (typeof f.profile === 'string')
          measured = await withFusionInput(
            () =>
              measureFusion(source, withKernel, typeof f.model === 'string' ? { model: f.model } : {}, hooks),
            FLAG_OF,
          );
        analysis =
          measured?.analyses[0] ??
          (await withFusionInput(() => analyzeFusion(source, withKernel, hooks), FLAG_OF));
      } finally {
        await pool.close();
      }
      const dropped = analysis.layers.filter((l) => l.fused && l.searchUsed !== resolved.search);
      if (dropped.length)
        io.stderr(
          `kvplan: sketch search dropped on ${dropped.length} of ${resolved.fused.length} fused layers (merge trees under ${resolved.sketchMinItems} blocks: the dense search is as fast there); dense search used\n`,
        );
      let profileNote = '';
      let profileJson: Record<string, unknown> | null = null;
      if (measured && typeof f.profile === 'string') {
        const { fit, profile } = measured;
        writeFileAtomic(path.resolve(io.cwd, f.profile), JSON.stringify(profile, null, 2) + '\n');
        const capped = profile.rateDistortion?.layers.some((l) => l.cap !== undefined) ?? false;
        const which = capped ? 'capped' : 'plain';
        profileJson = {
          file: f.profile,
          model: 'poisson-logistic/1',
          capped,
          fitError: fit?.fitError[which] ?? null,
          heldOut: fit?.heldOut[which] ?? [],
        };
        const ho = fit?.heldOut[which].find((h) => h.split === 'largest-batch');
        profileNote = `profile written to ${f.profile} (poisson-logistic/1${capped ? ' with caps' : ''}${ho ? `; surviving fraction of the largest batch predicted from smaller ones within ${ho.meanAbsError.toFixed(3)} mean, ${ho.maxAbsError.toFixed(3)} max abs error` : ''})\n`;
      }
      if (f.json) {
        // With --profile, the document also says how well the profile's model predicts.
        const doc = toFuseJson(analysis, { includeMapping: Boolean(f.mapping) });
        io.stdout(JSON.stringify(profileJson ? { ...doc, profile: profileJson } : doc, null, 2) + '\n');
      } else io.stdout(formatFuseTable(analysis) + profileNote);
      return 0;
    } finally {
      reader?.close();
    }
  },
};

const fmt = (x: number | null | undefined, d = 3): string =>
  x === null || x === undefined ? '-' : x.toFixed(d);

/** The human-readable report: per threshold, totals then one row per layer. */
export function formatFuseTable(a: FusionAnalysis): string {
  const i = a.info;
  const o = a.options;
  const out: string[] = [
    `kvplan fuse ${i.file ?? ''}: ${o.mode.toUpperCase()}, ${i.numSeqs} sequences, ${i.numLayers} layers, block ${i.blockSize}${i.synthetic ? ' (synthetic sample)' : ''}`,
    `merge ${o.merge}, scope ${o.scope}, search ${o.search}${o.mode === 'cff' ? `, chunks of ${o.chunkTokens} tokens in windows of ${o.window}` : ''}; fused layers ${o.fused.length ? `${o.fused[0]}-${o.fused[o.fused.length - 1]}` : 'none'}`,
  ];
  a.thresholds.forEach((s, k) => {
    const d = s.distortion;
    out.push(
      '',
      `threshold ${s.threshold}: compression ${s.compressionRatio === null ? '- (no fused layer)' : s.compressionRatio.toFixed(3) + 'x'} on fused layers, ${s.compressionRatioAllLayers.toFixed(3)}x on all; ${(s.bytesFreed / 2 ** 20).toFixed(1)} MiB freed` +
        (d && d.attentionRelError !== null
          ? `; attention error ${attentionPercent(d.attentionRelError)} (${d.querySource === 'file' ? 'sample queries' : 'keys as proxy queries'}), top-${d.topK} overlap ${fmt(d.topKOverlap)}`
          : ''),
    );
    if (o.search === 'sketch') {
      const fusedLayers = a.layers.filter((l) => l.fused);
      const cand = fusedLayers.reduce((x, l) => x + l.thresholds[k].search.candidates, 0);
      const truth = fusedLayers.reduce((x, l) => x + (l.thresholds[k].search.pairsTrue ?? 0), 0);
      const found = fusedLayers.reduce((x, l) => x + (l.thresholds[k].search.pairsTrueFound ?? 0), 0);
      out.push(
        `sketch search: ${cand} candidate pairs checked exactly` +
          (o.measureRecall
            ? `; recall ${truth ? ((100 * found) / truth).toFixed(2) : '100.00'} % of ${truth} pairs above threshold`
            : ''),
      );
    }
    const rows = a.layers.map((l) => {
      const r = l.thresholds[k];
      const ld = r.distortion;
      return [
        l.layer,
        l.fused ? 'yes' : 'no',
        r.totalBlocks,
        r.survivingBlocks,
        l.fused && r.survivingBlocks ? (r.totalBlocks / r.survivingBlocks).toFixed(3) : '-',
        fmt(ld?.keyRelL2),
        fmt(ld?.valueRelL2),
        fmt(ld?.keyWorstCos),
        attentionPercent(ld?.attention?.relError),
        fmt(ld?.attention?.topKOverlap),
      ];
    });
    out.push(
      renderTable(
        [
          'layer',
          'fused',
          'blocks',
          'surviving',
          'ratio',
          'key_err',
          'value_err',
          'key_worst_cos',
          'attn_err',
          `top${o.topK}`,
        ],
        rows,
      ).trimEnd(),
    );
  });
  return out.join('\n') + '\n';
}
