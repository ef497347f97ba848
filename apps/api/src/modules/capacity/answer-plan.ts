/**
 * An answer plan's configurations: every deployment (one per GPU type, typically) x TP degree x
 * fusion threshold (none first), each checked as the worker will run it. A TP degree the model
 * does not allow, or a threshold the fusion section refuses, is bad input (400, named by its
 * field); a configuration that is valid but cannot be deployed (the model does not fit at that
 * TP) becomes an infeasible row with its reason, as in `kvplan capacity --sweep-*`.
 */
import type { CapacityPoint } from '@kvplan/contracts';
import { applyPoint, type InputIssue } from '@kvplan/sim';
import { PROBE_WORKLOAD, specIssues } from '../../common/sim-port';
import { MAX_ANSWER_CONFIGURATIONS } from './capacity-plans.dto';

export interface AnswerDeployment {
  id: string;
  name: string;
  /** The deployment section, its documents inlined (deploymentSection). */
  section: Record<string, unknown>;
  /** The stored fusion profile built for it (null: the parametric one). */
  fusionProfileId: string | null;
}

export interface AnswerOptions {
  /** TP degrees for every deployment (absent: each deployment's own). */
  tensorParallel?: number[];
  thresholds: number[];
  targetRate?: number;
}

const label = (v: unknown): string => (typeof v === 'string' ? v : 'inline');

/** The points of an answer plan over the composed `base` spec, or the issues that refuse it. */
export function answerPoints(
  base: Record<string, unknown>,
  deployments: AnswerDeployment[],
  opts: AnswerOptions,
): { points: CapacityPoint[]; issues: InputIssue[] } {
  const issues: InputIssue[] = [];
  const thresholds: Array<number | null> = [null, ...opts.thresholds];
  const count = deployments.length * (opts.tensorParallel?.length ?? 1) * thresholds.length;
  if (count > MAX_ANSWER_CONFIGURATIONS) {
    const field = opts.thresholds.length
      ? 'thresholds'
      : opts.tensorParallel
        ? 'tensorParallel'
        : 'deploymentIds';
    issues.push({
      path: field,
      message: `${count} configurations (deployments x TP degrees x (no fusion + thresholds)) are more than the ${MAX_ANSWER_CONFIGURATIONS} one plan may evaluate`,
    });
    return { points: [], issues };
  }
  const points: CapacityPoint[] = [];
  const badTp = new Map<string, InputIssue>();
  deployments.forEach((d, i) => {
    const own = typeof d.section.tensorParallel === 'number' ? d.section.tensorParallel : 1;
    for (const tp of opts.tensorParallel ?? [own]) {
      for (const threshold of thresholds) {
        const point: CapacityPoint = {
          deploymentId: d.id,
          deploymentName: d.name,
          gpu: label(d.section.gpu),
          tensorParallel: tp,
          threshold,
          deployment: d.section,
          fusionProfileId: threshold === null ? null : d.fusionProfileId,
          ...(opts.targetRate !== undefined && { targetRate: opts.targetRate }),
        };
        const found = specIssues({ ...applyPoint(base, point), workload: PROBE_WORKLOAD });
        const unfit: string[] = [];
        for (const issue of found) {
          if (issue.path === 'tensorParallel') {
            const key = `${tp}@${i}`;
            if (!badTp.has(key))
              badTp.set(key, {
                path: opts.tensorParallel ? 'tensorParallel' : `deploymentIds[${i}]`,
                message: `${tp} on deployment "${d.name}": ${issue.message}`,
              });
          } else if (/^(model|engine)\b/.test(issue.path)) {
            // The deployment was valid at its own TP: at this one the model or its KV cache does not fit.
            unfit.push(`${issue.path}: ${issue.message}`);
          } else if (issue.path.startsWith('fusion')) {
            issues.push({ path: 'thresholds', message: `${threshold}: ${issue.message}` });
          } else issues.push(issue);
        }
        if (unfit.length) point.unfit = unfit.join('; ');
        points.push(point);
      }
    }
  });
  issues.push(...badTp.values());
  return { points, issues: dedupe(issues) };
}

function dedupe(issues: InputIssue[]): InputIssue[] {
  const seen = new Set<string>();
  return issues.filter((i) => {
    const k = `${i.path}\n${i.message}`;
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  });
}

/**
 * The SLO an answer plan holds every configuration to: the plan's own, else the one every
 * deployment shares; deployments with different SLOs (or none) need the plan's.
 */
export function answerSlo(
  given: Record<string, unknown> | undefined,
  deployments: AnswerDeployment[],
): { slo: Record<string, unknown> | null; issue: InputIssue | null } {
  if (given) return { slo: given, issue: null };
  const own = deployments.map((d) => d.section.slo as Record<string, unknown> | undefined);
  const first = own[0];
  if (!first || own.some((s) => JSON.stringify(s) !== JSON.stringify(first)))
    return {
      slo: null,
      issue: {
        path: 'slo',
        message: first
          ? "the deployments' SLOs differ: give the plan's own"
          : 'mode answer needs an SLO (here, or the same one on every deployment)',
      },
    };
  return { slo: first, issue: null };
}
