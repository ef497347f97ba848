import * as fs from 'node:fs';
import * as path from 'node:path';
import type { IssueCollector } from '../core/errors';
import type { FusionProfile } from '../types';
import { isObj, num, show, type Obj } from './fields';

export const FUSION_PROFILE_FORMAT = 'kvplan-fusion-profile/1';
const SOURCES = ['synthetic', 'kv-sample', 'model', 'parametric'] as const;

/**
 * Validates a kvplan-fusion-profile/1 document (DESIGN.md). Keys beyond the contract's are
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
  if (typeof raw.source !== 'string' || !(SOURCES as readonly string[]).includes(raw.source))
    issues.add(w('source'), `expected one of ${SOURCES.join(', ')}, got ${show(raw.source)}`);
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

/** Reads and validates a fusion profile file, `file` relative to baseDir. */
export function loadFusionProfile(
  file: string,
  baseDir: string,
  where: string,
  issues: IssueCollector,
): FusionProfile | null {
  const full = path.resolve(baseDir, file);
  let raw: unknown;
  try {
    raw = JSON.parse(fs.readFileSync(full, 'utf8'));
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    issues.add(
      where,
      e.code === 'ENOENT' ? `no such file: ${file}` : `cannot read ${file} as JSON: ${e.message}`,
    );
    return null;
  }
  return validateFusionProfile(raw, `${where} (${file})`, issues);
}
