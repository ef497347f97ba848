import { IssueCollector } from './errors';
import { isObj, num, show, type Obj } from './fields';

/** One layer's fitted `poisson-logistic/1` parameters (see matchProbability). */
export interface RateDistortionLayer {
  layer: number;
  pMax: number;
  t0: number;
  width: number;
  /**
   * Optional, default 1: the fraction of the layer's blocks that can fuse at all; the rest never
   * match. With it, a block matches with probability cap x (1 - exp(-m p(t) / cap)).
   */
  cap?: number;
}

/** One figure of a profile's accuracy list; `metric` names an entry of the metric registry. */
export interface AccuracyEntry {
  threshold: number;
  metric: string;
  value: number;
  interval: [number, number] | null;
  how: string;
}

/**
 * kvplan-fusion-profile/1 (the fusion profile contract): what libs/fusion produces, libs/sim
 * consumes and the service stores. Declared once, here.
 */
export interface FusionProfile {
  format: 'kvplan-fusion-profile/1';
  mode: 'bff' | 'cff';
  source: (typeof FUSION_PROFILE_SOURCES)[number];
  model: string | null;
  numLayers: number;
  /** Layer indices that fusion touches (others keep every block). */
  fusedLayers: number[];
  blockSize: number;
  /** Measured points: surviving fraction per layer at a threshold and batch size (BFF) or window (CFF). */
  points: Array<{ threshold: number; batchSize?: number; window?: number; survivingFraction: number[] }>;
  /**
   * Per-layer fitted parameters predicting the surviving fraction at any batch size and
   * threshold (the poisson-logistic/1 model of match.ts).
   */
  rateDistortion: { model: 'poisson-logistic/1'; layers: RateDistortionLayer[] } | null;
  accuracy: AccuracyEntry[] | null;
}

export const FUSION_PROFILE_FORMAT = 'kvplan-fusion-profile/1';
export const FUSION_PROFILE_SOURCES = ['synthetic', 'kv-sample', 'model', 'parametric'] as const;

/**
 * Validates a kvplan-fusion-profile/1 document. Keys beyond the contract's are
 * ignored (a newer producer may add provenance); every contract field is checked. Issues are
 * reported under `where` (e.g. `fusion.profile (profiles/x.json)`).
 */
export function validateFusionProfile(
  raw: unknown,
  where: string,
  issues: IssueCollector,
): FusionProfile | null {
  if (!isObj(raw)) {
    issues.add(where, `expected a ${FUSION_PROFILE_FORMAT} JSON object, got ${show(raw)}`);
    return null;
  }
  const before = issues.issues.length;
  const w = (k: string): string => `${where}.${k}`;
  if (raw.format !== FUSION_PROFILE_FORMAT)
    issues.add(w('format'), `expected "${FUSION_PROFILE_FORMAT}", got ${show(raw.format)}`);
  if (raw.mode !== 'bff' && raw.mode !== 'cff')
    issues.add(w('mode'), `expected bff or cff, got ${show(raw.mode)}`);
  if (typeof raw.source !== 'string' || !(FUSION_PROFILE_SOURCES as readonly string[]).includes(raw.source))
    issues.add(w('source'), `expected one of ${FUSION_PROFILE_SOURCES.join(', ')}, got ${show(raw.source)}`);
  if (raw.model !== null && raw.model !== undefined && typeof raw.model !== 'string')
    issues.add(w('model'), `expected a string or null, got ${show(raw.model)}`);
  const numLayers = num(raw.numLayers, w('numLayers'), issues, { integer: true, min: 1 });
  num(raw.blockSize, w('blockSize'), issues, { integer: true, min: 1 });

  const layerIndex = (v: unknown, p: string): void => {
    num(v, p, issues, { integer: true, min: 0, max: numLayers === undefined ? undefined : numLayers - 1 });
  };
  if (!Array.isArray(raw.fusedLayers))
    issues.add(w('fusedLayers'), `expected a list of layer indices, got ${show(raw.fusedLayers)}`);
  else raw.fusedLayers.forEach((l, i) => layerIndex(l, `${w('fusedLayers')}[${i}]`));

  if (!Array.isArray(raw.points))
    issues.add(w('points'), `expected a list (may be empty), got ${show(raw.points)}`);
  else
    raw.points.forEach((p: unknown, i: number) => {
      const pw = `${w('points')}[${i}]`;
      if (!isObj(p)) {
        issues.add(pw, `expected {threshold, batchSize | window, survivingFraction}, got ${show(p)}`);
        return;
      }
      num(p.threshold, `${pw}.threshold`, issues, { min: -1, max: 1 });
      if (p.batchSize !== undefined) num(p.batchSize, `${pw}.batchSize`, issues, { integer: true, min: 1 });
      if (p.window !== undefined) num(p.window, `${pw}.window`, issues, { integer: true, min: 1 });
      const sf = p.survivingFraction;
      if (!Array.isArray(sf))
        issues.add(`${pw}.survivingFraction`, `expected a list of fractions per layer, got ${show(sf)}`);
      else {
        if (numLayers !== undefined && sf.length !== numLayers)
          issues.add(
            `${pw}.survivingFraction`,
            `expected ${numLayers} values (one per layer), got ${sf.length}`,
          );
        sf.forEach((x, j) => num(x, `${pw}.survivingFraction[${j}]`, issues, { min: 0, max: 1 }));
      }
    });

  const rd = raw.rateDistortion;
  if (rd !== null && rd !== undefined) {
    const rw = w('rateDistortion');
    if (!isObj(rd)) issues.add(rw, `expected an object or null, got ${show(rd)}`);
    else {
      if (rd.model !== 'poisson-logistic/1')
        issues.add(`${rw}.model`, `expected "poisson-logistic/1", got ${show(rd.model)}`);
      if (!Array.isArray(rd.layers)) issues.add(`${rw}.layers`, `expected a list, got ${show(rd.layers)}`);
      else
        rd.layers.forEach((l: unknown, i: number) => {
          const lw = `${rw}.layers[${i}]`;
          if (!isObj(l)) {
            issues.add(lw, `expected {layer, pMax, t0, width}, got ${show(l)}`);
            return;
          }
          layerIndex(l.layer, `${lw}.layer`);
          num(l.pMax, `${lw}.pMax`, issues, { min: 0 });
          num(l.t0, `${lw}.t0`, issues, {});
          num(l.width, `${lw}.width`, issues, { min: 0, above: true });
          // Optional: the fraction of the layer's blocks that can fuse at all (default 1).
          if (l.cap !== undefined && !(typeof l.cap === 'number' && l.cap > 0 && l.cap <= 1))
            issues.add(`${lw}.cap`, `expected a fraction in (0, 1], got ${show(l.cap)}`);
        });
    }
  }
  if (Array.isArray(raw.points) && raw.points.length === 0 && (rd === null || rd === undefined))
    issues.add(where, 'has neither measured points nor a rateDistortion fit: nothing to predict fusion from');

  const acc = raw.accuracy;
  if (acc !== null && acc !== undefined) {
    if (!Array.isArray(acc)) issues.add(w('accuracy'), `expected a list or null, got ${show(acc)}`);
    else
      acc.forEach((a: unknown, i: number) => {
        const aw = `${w('accuracy')}[${i}]`;
        if (!isObj(a)) {
          issues.add(aw, `expected {threshold, metric, value, interval, how}, got ${show(a)}`);
          return;
        }
        num(a.threshold, `${aw}.threshold`, issues, { min: -1, max: 1 });
        num(a.value, `${aw}.value`, issues, {});
        if (typeof a.metric !== 'string')
          issues.add(`${aw}.metric`, `expected a string, got ${show(a.metric)}`);
      });
  }
  if (issues.issues.length > before) return null;
  const r = raw as Obj;
  return {
    ...(r as unknown as FusionProfile),
    model: (r.model as string | null | undefined) ?? null,
    rateDistortion: (rd as FusionProfile['rateDistortion']) ?? null,
    accuracy: (acc as FusionProfile['accuracy']) ?? null,
  };
}

/** Validates a fusion profile and throws every issue at once (InputError); returns it typed. */
export function parseFusionProfile(raw: unknown, where = 'profile'): FusionProfile {
  const issues = new IssueCollector();
  const profile = validateFusionProfile(raw, where, issues);
  issues.throwIfAny();
  return profile!;
}
