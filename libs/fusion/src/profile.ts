import type { FusionProfile } from '@kvplan/core';
import type { AnalyzeHooks, FusionAnalysis } from './analyze';
import type { KvSource } from './kv-types';
import { measureFusion } from './measure';
import type { FusionOptions } from './options';
import { fitRateDistortion, rdPointsFromAnalysis, type RateDistortionFit } from './rate-distortion';

export interface BuildProfileOptions {
  /** Default: `synthetic` for a synthetic sample, else `kv-sample`. */
  source?: 'synthetic' | 'kv-sample' | 'model';
  /** Default: the sample's model metadata. */
  model?: string | null;
  /** A fit already computed (else fitted here). */
  fit?: RateDistortionFit;
  /**
   * `plain`: pMax, t0, width; `capped`: with each layer's matchable fraction `cap`; `best`
   * (default): capped when it predicts the largest measured batch, left out of its fit, at least
   * as well as the plain model (plain when that cannot be told).
   */
  rateModel?: 'plain' | 'capped' | 'best';
}

const r6 = (x: number): number => Number(x.toPrecision(6));

/**
 * The fusion profile of an analysis: every measured point (each subtree size of the tree is a
 * measured batch size in BFF, a measured window in CFF), the fitted rate-distortion model, and
 * the accuracy proxies per threshold (attention-output error and top-k overlap, with how they
 * were measured).
 */
export function buildFusionProfile(a: FusionAnalysis, opts: BuildProfileOptions = {}): FusionProfile {
  const info = a.info;
  const mode = a.options.mode;
  const fused = a.layers.filter((l) => l.fused).map((l) => l.layer);
  const pts = rdPointsFromAnalysis(a);
  const points: FusionProfile['points'] = [];
  for (const t of a.options.thresholds) {
    const sizes = [...new Set(pts.filter((p) => p.threshold === t).map((p) => p.leaves))].sort(
      (x, y) => x - y,
    );
    for (const B of sizes) {
      const frac = Array.from({ length: info.numLayers }, (_, l) => {
        const p = pts.find((q) => q.layer === l && q.threshold === t && q.leaves === B);
        return p ? r6(p.survivingFraction) : 1;
      });
      points.push(
        mode === 'bff'
          ? { threshold: t, batchSize: B, survivingFraction: frac }
          : { threshold: t, window: B, survivingFraction: frac },
      );
    }
  }
  const fit = fused.length ? (opts.fit ?? fitRateDistortion(a, pts)) : null;
  const source = opts.source ?? (info.synthetic ? 'synthetic' : 'kv-sample');
  const accuracy: NonNullable<FusionProfile['accuracy']> = [];
  a.thresholds.forEach((s) => {
    const d = s.distortion;
    if (!d || d.attentionRelError === null) return;
    const queries =
      d.querySource === 'file'
        ? "the sample's own attention queries"
        : "each sequence's last keys as proxy queries";
    const where = `${info.synthetic ? 'synthetic' : 'KV'} sample${info.file ? ` ${info.file.split(/[\\/]/).pop()}` : ''}, ${info.numSeqs} sequences, ${mode.toUpperCase()}`;
    accuracy.push({
      threshold: s.threshold,
      metric: 'attention-output-rel-error',
      value: r6(d.attentionRelError),
      interval: d.attentionRelErrorInterval
        ? [r6(d.attentionRelErrorInterval[0]), r6(d.attentionRelErrorInterval[1])]
        : null,
      how: `attention-error proxy: relative L2 error of softmax(qK^T/sqrt(d))V with fused vs original KV, ${queries}; mean over fused layers; 95 % interval over sequences; ${where}`,
    });
    accuracy.push({
      threshold: s.threshold,
      metric: `top${d.topK}-attention-overlap`,
      value: r6(d.topKOverlap ?? 1),
      interval: null,
      how: `attention-error proxy: overlap of the top-${d.topK} attended positions, fused vs original KV, ${queries}; mean over fused layers; ${where}`,
    });
  });
  return {
    format: 'kvplan-fusion-profile/1',
    mode,
    source,
    model: opts.model !== undefined ? opts.model : info.model,
    numLayers: info.numLayers,
    fusedLayers: fused,
    blockSize: info.blockSize,
    points,
    rateDistortion: fit ? rateLayers(fit, opts.rateModel ?? 'best') : null,
    accuracy: accuracy.length ? accuracy : null,
  };
}

function rateLayers(
  fit: RateDistortionFit,
  choice: 'plain' | 'capped' | 'best',
): NonNullable<FusionProfile['rateDistortion']> {
  let capped = choice === 'capped';
  if (choice === 'best') {
    const ho = (xs: RateDistortionFit['heldOut']['plain']): number | null =>
      xs.find((h) => h.split === 'largest-batch')?.meanAbsError ?? null;
    const p = ho(fit.heldOut.plain);
    const c = ho(fit.heldOut.capped);
    capped = p !== null && c !== null && c <= p;
  }
  return {
    model: 'poisson-logistic/1',
    layers: capped
      ? fit.capped.layers.map((l) => ({
          layer: l.layer,
          pMax: r6(l.pMax),
          t0: r6(l.t0),
          width: r6(l.width),
          cap: r6(l.cap),
        }))
      : fit.layers.map((l) => ({ layer: l.layer, pMax: r6(l.pMax), t0: r6(l.t0), width: r6(l.width) })),
  };
}

export interface SampleProfile {
  analysis: FusionAnalysis;
  fit: RateDistortionFit | null;
  profile: FusionProfile;
}

/**
 * One call for planners: fuse a sample (a file reader or a synthetic sample) at the given
 * thresholds, fit the rate-distortion model and build the profile (measureFusion over the whole
 * sample). The similarity histogram is always collected (the fit's shape for thresholds that were
 * not measured). Accuracy proxies are in `analysis.thresholds[i].distortion` and in
 * `profile.accuracy`.
 */
export async function profileFromSample(
  source: KvSource,
  options: Partial<FusionOptions> = {},
  profileOptions: Omit<BuildProfileOptions, 'fit'> = {},
  hooks: AnalyzeHooks = {},
): Promise<SampleProfile> {
  const m = await measureFusion(source, options, profileOptions, hooks);
  return { analysis: m.analyses[0], fit: m.fit, profile: m.profile };
}
