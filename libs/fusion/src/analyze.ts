import { dtypeBytes } from './dtype';
import { fuseLayer, fuseLayerAsync, planItems, type LayerFusionResult } from './fuse-layer';
import { blockDim, type KvLayer, type KvSampleInfo, type KvSource } from './kv-types';
import { resolveFusionOptions, type FusionOptions, type ResolvedFusionOptions } from './options';
import type { QuerySource } from './attention';

/** Totals of one threshold over the whole sample. */
export interface ThresholdSummary {
  threshold: number;
  totalBlocks: number;
  survivingBlocks: number;
  /** Paper's count: full blocks / surviving blocks over the fused layers; null when none fused. */
  compressionRatio: number | null;
  /** Over every layer (unfused layers keep all their blocks). */
  compressionRatioAllLayers: number;
  /** (total - surviving) blocks x blockSize x numKvHeads x headDim x 2 (K and V) x bytes per element. */
  bytesFreed: number;
  distortion: DistortionSummary | null;
}

/** Distortion over the fused layers. */
export interface DistortionSummary {
  /** sqrt(mean over fused layers of the squared per-layer relative L2 error). */
  keyRelL2: number;
  valueRelL2: number;
  keyWorstCos: number;
  valueWorstCos: number;
  /** `file`: the sample's queries; `keys-proxy`: each sequence's last keys stand in for queries. */
  querySource: QuerySource | null;
  /** Mean over fused layers of the attention-output relative error. */
  attentionRelError: number | null;
  attentionRelErrorMaxLayer: number | null;
  /** 95 % interval of attentionRelError (normal approximation over sequences). */
  attentionRelErrorInterval: [number, number] | null;
  topKOverlap: number | null;
  topK: number;
}

export interface FusionAnalysis {
  info: KvSampleInfo;
  options: Omit<ResolvedFusionOptions, 'clock' | 'kernel'>;
  /** Name of the similarity kernel that ran the products (e.g. `onnxruntime-node`, `tfjs`). */
  kernel: string;
  /** Blocks per leaf (sequence in BFF, chunk in CFF), for the rate-distortion model. */
  blocksPerLeaf: number;
  bytesPerElement: number;
  layers: LayerFusionResult[];
  thresholds: ThresholdSummary[];
  seconds: number | null;
}

export interface AnalyzeHooks {
  /** Called after each layer (progress). */
  onLayer?: (result: LayerFusionResult, index: number, total: number) => void;
  /** Bytes per KV element for bytesFreed; default: the sample's dtype. */
  bytesPerElement?: number;
  /**
   * Fuses one fused layer somewhere else (an application's worker thread): the library starts no
   * threads, it only keeps up to `concurrency` such calls in flight. `sample` is the sample being
   * analysed (its info, and its layer read here: a thread that cannot open the file itself is sent
   * the data; one that can ignores it). Default: fuseLayer in this thread, one layer at a time.
   */
  fuseLayerAt?: (
    layer: number,
    options: ResolvedFusionOptions,
    sample: { info: KvSampleInfo; read: () => KvLayer },
  ) => Promise<LayerFusionResult>;
  /** Layers in flight at once with `fuseLayerAt` (default 1). */
  concurrency?: number;
  /**
   * Called before each layer is started: an application stops the analysis by throwing here (a
   * cancelled job). The error propagates; layers already in flight are not waited for.
   */
  checkpoint?: () => void;
}

/**
 * An application's layer threads as analyzeFusion takes them (`hooks`), with how many run and
 * how to end them. Sized by the application's thread policy (libs/core planThreads).
 */
export interface LayerThreads {
  /** Threads fusing layers side by side (each with its own kernel). */
  readonly threads: number;
  hooks(): Pick<AnalyzeHooks, 'fuseLayerAt' | 'concurrency'>;
  close(): Promise<void>;
}

/**
 * Runs fusion over a whole sample, one layer in memory at a time (layers that are not fused are
 * not even read unless their mapping or reconstruction is asked for), yielding to the event loop
 * between layers. Bad options: InputError listing every problem.
 */
export async function analyzeFusion(
  source: KvSource,
  options: Partial<FusionOptions> = {},
  hooks: AnalyzeHooks = {},
): Promise<FusionAnalysis> {
  const info = source.info;
  const o = resolveFusionOptions(options, info);
  const t0 = o.clock ? o.clock() : 0;
  const plan = planItems(info, o);
  const layers: LayerFusionResult[] = new Array<LayerFusionResult>(info.numLayers);
  const local = async (l: number): Promise<LayerFusionResult> => {
    const needData = o.fused.includes(l) || o.keepMapping || o.keepReconstruction;
    const layer = needData
      ? source.readLayer(l)
      : { layer: l, key: new Float32Array(0), value: new Float32Array(0), query: null };
    // A kernel read back asynchronously is awaited product by product.
    const r = o.kernel.gramAsync
      ? await fuseLayerAsync(layer, info, o, plan)
      : fuseLayer(layer, info, o, plan);
    await new Promise<void>((resolve) => setImmediate(resolve));
    return r;
  };
  const remote = hooks.fuseLayerAt;
  const run = (l: number): Promise<LayerFusionResult> =>
    remote && o.fused.includes(l) && !o.keepMapping && !o.keepReconstruction
      ? remote(l, o, { info, read: () => source.readLayer(l) })
      : local(l);
  let next = 0;
  let done = 0;
  const lane = async (): Promise<void> => {
    while (next < info.numLayers) {
      hooks.checkpoint?.();
      const l = next++;
      layers[l] = await run(l);
      hooks.onLayer?.(layers[l], done++, info.numLayers);
    }
  };
  const lanes = remote ? Math.max(1, Math.floor(hooks.concurrency ?? 1)) : 1;
  await Promise.all(Array.from({ length: Math.min(lanes, Math.max(1, info.numLayers)) }, lane));
  const bytesPerElement = hooks.bytesPerElement ?? dtypeBytes(info.dtype);
  const { clock: _clock, kernel, ...rest } = o;
  return {
    info,
    options: rest,
    kernel: kernel.name,
    blocksPerLeaf: plan.blocksPerLeaf,
    bytesPerElement,
    layers,
    thresholds: o.thresholds.map((t, k) => summarize(layers, k, t, info, bytesPerElement, o.topK)),
    seconds: o.clock ? (o.clock() - t0) / 1000 : null,
  };
}

function summarize(
  layers: LayerFusionResult[],
  k: number,
  t: number,
  info: KvSampleInfo,
  bpe: number,
  topK: number,
): ThresholdSummary {
  let total = 0;
  let surviving = 0;
  let fTotal = 0;
  let fSurv = 0;
  const fused = layers.filter((l) => l.fused);
  for (const l of layers) {
    const r = l.thresholds[k];
    total += r.totalBlocks;
    surviving += r.survivingBlocks;
    if (l.fused) {
      fTotal += r.totalBlocks;
      fSurv += r.survivingBlocks;
    }
  }
  let distortion: DistortionSummary | null = null;
  if (fused.length) {
    const ds = fused.map((l) => l.thresholds[k].distortion!);
    const att = ds.map((d) => d.attention).filter((a) => a !== null);
    const rms = (xs: number[]): number => Math.sqrt(xs.reduce((a, x) => a + x * x, 0) / xs.length);
    let interval: [number, number] | null = null;
    let attMean: number | null = null;
    if (att.length) {
      attMean = att.reduce((a, x) => a + x.relError, 0) / att.length;
      // Per sequence, its error averaged over layers; the interval is that of their mean.
      const nSeq = att[0].perSeq.length;
      const perSeq = Array.from(
        { length: nSeq },
        (_, i) => att.reduce((a, x) => a + x.perSeq[i], 0) / att.length,
      );
      if (nSeq > 1) {
        const m = perSeq.reduce((a, b) => a + b, 0) / nSeq;
        const sd = Math.sqrt(perSeq.reduce((a, b) => a + (b - m) * (b - m), 0) / (nSeq - 1));
        const half = (1.96 * sd) / Math.sqrt(nSeq);
        interval = [Math.max(0, attMean - half), attMean + half];
      }
    }
    distortion = {
      keyRelL2: rms(ds.map((d) => d.keyRelL2)),
      valueRelL2: rms(ds.map((d) => d.valueRelL2)),
      keyWorstCos: Math.min(...ds.map((d) => d.keyWorstCos)),
      valueWorstCos: Math.min(...ds.map((d) => d.valueWorstCos)),
      querySource: att.length ? att[0].querySource : null,
      attentionRelError: attMean,
      attentionRelErrorMaxLayer: att.length ? Math.max(...att.map((a) => a.relError)) : null,
      attentionRelErrorInterval: interval,
      topKOverlap: att.length ? att.reduce((a, x) => a + x.topKOverlap, 0) / att.length : null,
      topK,
    };
  }
  return {
    threshold: t,
    totalBlocks: total,
    survivingBlocks: surviving,
    compressionRatio: fused.length && fSurv > 0 ? fTotal / fSurv : null,
    compressionRatioAllLayers: surviving > 0 ? total / surviving : 1,
    bytesFreed: (total - surviving) * blockDim(info) * 2 * bpe,
    distortion,
  };
}

/** DESIGN.md's `kvplan fuse --json` document. */
export interface FuseJsonDocument {
  mode: 'bff' | 'cff';
  sample: {
    file: string | null;
    numSeqs: number;
    numLayers: number;
    blockSize: number;
    synthetic: boolean;
    model: string | null;
  };
  options: Record<string, unknown>;
  thresholds: Array<{
    threshold: number;
    layers: Array<Record<string, unknown>>;
    compressionRatio: number | null;
    compressionRatioAllLayers: number;
    bytesFreed: number;
    totalBlocks: number;
    survivingBlocks: number;
    distortion: DistortionSummary | null;
  }>;
}

const round = (x: number | null, d = 6): number | null => (x === null ? null : Number(x.toFixed(d)));

/**
 * The `kvplan fuse --json` document: always a `thresholds` array, every layer of the sample
 * listed as numbered in the file. `includeMapping` adds each layer's representative array.
 */
export function toFuseJson(a: FusionAnalysis, opts: { includeMapping?: boolean } = {}): FuseJsonDocument {
  const o = a.options;
  return {
    mode: o.mode,
    sample: {
      file: a.info.file,
      numSeqs: a.info.numSeqs,
      numLayers: a.info.numLayers,
      blockSize: a.info.blockSize,
      synthetic: a.info.synthetic,
      model: a.info.model,
    },
    options: {
      merge: o.merge,
      scope: o.scope,
      fusedLayers: o.fused,
      search: o.search,
      ...(o.search === 'sketch'
        ? { sketchDim: o.sketchDim, sketchMargin: round(o.sketchMarginResolved) }
        : {}),
      ...(o.mode === 'cff' ? { chunkTokens: o.chunkTokens, window: o.window } : {}),
      removeRope: o.removeRope,
      bytesPerElement: a.bytesPerElement,
      kernel: a.kernel,
    },
    thresholds: a.thresholds.map((s, k) => ({
      threshold: s.threshold,
      layers: a.layers.map((l) => {
        const r = l.thresholds[k];
        const d = r.distortion;
        const row: Record<string, unknown> = {
          layer: l.layer,
          fused: l.fused,
          ...(l.searchUsed ? { searchUsed: l.searchUsed } : {}),
          totalBlocks: r.totalBlocks,
          survivingBlocks: r.survivingBlocks,
          survivingFraction: r.totalBlocks ? round(r.survivingBlocks / r.totalBlocks) : 1,
          compressionRatio:
            l.fused && r.survivingBlocks > 0 ? round(r.totalBlocks / r.survivingBlocks) : null,
          bytesFreed: (r.totalBlocks - r.survivingBlocks) * blockDim(a.info) * 2 * a.bytesPerElement,
          distortion: d
            ? {
                keyRelL2: round(d.keyRelL2),
                valueRelL2: round(d.valueRelL2),
                keyWorstCos: round(d.keyWorstCos),
                valueWorstCos: round(d.valueWorstCos),
                attentionRelError: d.attention ? round(d.attention.relError) : null,
                attentionMaxSeqRelError: d.attention ? round(d.attention.maxSeqRelError) : null,
                topKOverlap: d.attention ? round(d.attention.topKOverlap) : null,
                querySource: d.attention ? d.attention.querySource : null,
              }
            : null,
        };
        if (o.search === 'sketch' && l.fused) {
          row.search = {
            candidates: r.search.candidates,
            pairsFound: r.search.pairsFound,
            recall: r.search.pairsTrue ? round(r.search.pairsTrueFound! / r.search.pairsTrue) : null,
          };
        }
        if (opts.includeMapping && r.representative) row.representative = Array.from(r.representative);
        return row;
      }),
      compressionRatio: round(s.compressionRatio),
      compressionRatioAllLayers: round(s.compressionRatioAllLayers)!,
      bytesFreed: s.bytesFreed,
      totalBlocks: s.totalBlocks,
      survivingBlocks: s.survivingBlocks,
      distortion: s.distortion
        ? {
            ...s.distortion,
            keyRelL2: round(s.distortion.keyRelL2)!,
            valueRelL2: round(s.distortion.valueRelL2)!,
            keyWorstCos: round(s.distortion.keyWorstCos)!,
            valueWorstCos: round(s.distortion.valueWorstCos)!,
            attentionRelError: round(s.distortion.attentionRelError),
            attentionRelErrorMaxLayer: round(s.distortion.attentionRelErrorMaxLayer),
            attentionRelErrorInterval: s.distortion.attentionRelErrorInterval
              ? [
                  round(s.distortion.attentionRelErrorInterval[0])!,
                  round(s.distortion.attentionRelErrorInterval[1])!,
                ]
              : null,
            topKOverlap: round(s.distortion.topKOverlap),
          }
        : null,
    })),
  };
}
