import * as fs from 'node:fs';
import * as path from 'node:path';
import YAML from 'yaml';
import {
  InputError,
  markPareto,
  resolveSimulationSpec,
  searchMaxRate,
  searchMinReplicas,
  type InputIssue,
  type ResolvedSpec,
  type SloSpec,
  type SweepPoint,
} from '@kvplan/sim';
import type { Command } from '../command';

function readRaw(file: string, cwd: string): { raw: Record<string, unknown>; baseDir: string } {
  const full = path.resolve(cwd, file);
  if (!fs.existsSync(full) || !fs.statSync(full).isFile())
    throw new InputError([{ path: 'SPEC', message: `no such file: ${file}` }]);
  let raw: unknown;
  try {
    raw = /\.json$/i.test(full)
      ? JSON.parse(fs.readFileSync(full, 'utf8'))
      : YAML.parse(fs.readFileSync(full, 'utf8'));
  } catch (err) {
    throw new InputError([{ path: file, message: `cannot parse: ${(err as Error).message}` }]);
  }
  if (!raw || typeof raw !== 'object' || Array.isArray(raw))
    throw new InputError([{ path: file, message: 'expected a mapping at the top level' }]);
  return { raw: raw as Record<string, unknown>, baseDir: path.dirname(full) };
}

const list = (v: unknown): string[] | undefined =>
  typeof v === 'string'
    ? v
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean)
    : undefined;
const nums = (v: unknown): number[] | undefined =>
  Array.isArray(v) ? (v as number[]) : typeof v === 'number' ? [v] : undefined;

export const capacityCommand: Command = {
  name: 'capacity',
  usage: 'capacity SPEC [--target-rate R] [--sweep-* ...] [--json]',
  summary:
    'Highest rate under the SLOs, fewest GPUs for a rate, and a Pareto sweep over GPUs, TP, engine knobs and fusion',
  flags: {
    json: { type: 'boolean', description: 'print one JSON document' },
    'target-rate': {
      type: 'number',
      description: 'find the fewest replicas (GPUs) that serve this many requests/s',
    },
    goodput: {
      type: 'number',
      description: 'judge by goodput: this fraction of requests must meet every SLO term',
    },
    tolerance: {
      type: 'number',
      description: 'relative precision of the highest rate (default 0.02)',
      default: 0.02,
    },
    'sweep-gpus': { type: 'string', description: 'comma list of GPU presets to sweep' },
    'sweep-tp': { type: 'numbers', description: 'tensor-parallel degrees to sweep' },
    'sweep-max-num-seqs': { type: 'numbers', description: 'maxNumSeqs values to sweep' },
    'sweep-batched-tokens': { type: 'numbers', description: 'maxNumBatchedTokens values to sweep' },
    'sweep-thresholds': {
      type: 'numbers',
      description: 'fusion thresholds to sweep (no fusion is always included)',
    },
  },
  async run(args, io) {
    const [file] = args.positionals;
    const issues: InputIssue[] = [];
    if (!file) issues.push({ path: 'SPEC', message: 'expected a spec file' });
    const tol = args.flags.tolerance as number;
    if (!(tol > 0 && tol < 1))
      issues.push({ path: '--tolerance', message: `expected a number in (0, 1), got ${tol}` });
    const goodput = args.flags.goodput as number | undefined;
    if (goodput !== undefined && !(goodput > 0 && goodput <= 1))
      issues.push({ path: '--goodput', message: `expected a fraction in (0, 1], got ${goodput}` });
    const target = args.flags['target-rate'] as number | undefined;
    if (target !== undefined && !(target > 0))
      issues.push({ path: '--target-rate', message: `expected a positive rate, got ${target}` });
    for (const t of nums(args.flags['sweep-thresholds']) ?? [])
      if (!(t >= -1 && t <= 1))
        issues.push({ path: '--sweep-thresholds', message: `expected thresholds in [-1, 1], got ${t}` });
    if (issues.length) throw new InputError(issues);

    const { raw, baseDir } = readRaw(file, io.cwd);
    const base = resolveSimulationSpec(raw, { fileName: file, baseDir });
    if (!base.slo)
      throw new InputError([
        {
          path: 'slo',
          message: 'capacity planning needs SLOs: add slo: {ttftMs: {p99: ...}, ...} to the spec',
        },
      ]);
    const slo: SloSpec = base.slo;
    const opts = { relTolerance: tol, ...(goodput !== undefined ? { minGoodputFraction: goodput } : {}) };

    const gpus = list(args.flags['sweep-gpus']);
    const tps = nums(args.flags['sweep-tp']);
    const seqs = nums(args.flags['sweep-max-num-seqs']);
    const batched = nums(args.flags['sweep-batched-tokens']);
    const thresholds = nums(args.flags['sweep-thresholds']);
    const sweeping = Boolean(gpus || tps || seqs || batched || thresholds);

    const evaluate = (spec: ResolvedSpec, label: string): SweepPoint => {
      const max = searchMaxRate({ ...spec, replicas: 1 }, slo, opts);
      const rep = target !== undefined && max.maxRate > 0 ? searchMinReplicas(spec, target, slo, opts) : null;
      const at = max.atMax?.result;
      const gpusPerReplica = spec.tensorParallel;
      return {
        label,
        gpu: spec.gpu.id,
        tensorParallel: spec.tensorParallel,
        maxNumSeqs: spec.engine.maxNumSeqs,
        maxNumBatchedTokens: spec.engine.maxNumBatchedTokens,
        fusionThreshold: spec.fusion ? spec.fusion.threshold : null,
        maxRatePerReplica: max.maxRate,
        maxRatePerGpu: max.maxRate / gpusPerReplica,
        outputTokensPerSecondPerGpu: at ? at.output_throughput / gpusPerReplica : 0,
        costPerMillionOutputTokensUsd: at?.cost_per_million_output_tokens_usd ?? null,
        replicasForTarget: rep?.replicas ?? null,
        gpusForTarget: rep?.gpus ?? null,
        pareto: false,
      };
    };

    if (!sweeping) {
      const point = evaluate(base, 'spec');
      const max = searchMaxRate({ ...base, replicas: 1 }, slo, opts);
      const doc = { slo, ...point, probes: max.probes, limitingTerms: max.firstFailing?.violations ?? [] };
      if (args.flags.json) io.stdout(JSON.stringify(doc, null, 2) + '\n');
      else {
        io.stdout(`${base.model.id} on ${base.tensorParallel} x ${base.gpu.name} per replica\n`);
        io.stdout(
          `highest rate meeting the SLOs: ${point.maxRatePerReplica.toFixed(2)} req/s per replica (${point.maxRatePerGpu.toFixed(2)} per GPU)\n`,
        );
        if (doc.limitingTerms.length) io.stdout(`limited by: ${doc.limitingTerms.join('; ')}\n`);
        if (point.costPerMillionOutputTokensUsd !== null)
          io.stdout(
            `cost at that rate: $${point.costPerMillionOutputTokensUsd.toFixed(3)} per million output tokens\n`,
          );
        if (target !== undefined)
          io.stdout(
            point.replicasForTarget === null
              ? `${target} req/s: not reachable within 256 replicas\n`
              : `${target} req/s needs ${point.replicasForTarget} replicas = ${point.gpusForTarget} GPUs\n`,
          );
      }
      return 0;
    }

    const points: SweepPoint[] = [];
    const skipped: Array<{ label: string; reason: string }> = [];
    for (const gpu of gpus ?? [raw.gpu])
      for (const tp of tps ?? [base.tensorParallel])
        for (const s of seqs ?? [undefined])
          for (const b of batched ?? [undefined])
            for (const t of [null, ...(thresholds ?? [])]) {
              const engine = {
                ...((raw.engine as object) ?? {}),
                ...(s ? { maxNumSeqs: s } : {}),
                ...(b ? { maxNumBatchedTokens: b } : {}),
              };
              const fusionRaw = t === null ? undefined : { ...((raw.fusion as object) ?? {}), threshold: t };
              const variant: Record<string, unknown> = { ...raw, gpu, tensorParallel: tp, engine };
              if (fusionRaw) variant.fusion = fusionRaw;
              else delete variant.fusion;
              const label = `${typeof gpu === 'string' ? gpu : 'gpu'} tp${tp}${s ? ` seqs${s}` : ''}${b ? ` tok${b}` : ''}${t === null ? '' : ` fuse@${t}`}`;
              try {
                points.push(evaluate(resolveSimulationSpec(variant, { fileName: file, baseDir }), label));
              } catch (err) {
                if (!(err instanceof InputError)) throw err;
                skipped.push({ label, reason: err.message });
              }
            }
    markPareto(points);
    if (args.flags.json) io.stdout(JSON.stringify({ slo, points, skipped }, null, 2) + '\n');
    else {
      io.stdout('config                               rate/GPU  tok/s/GPU  $/M tok  GPUs@target  pareto\n');
      for (const p of points)
        io.stdout(
          `${p.label.padEnd(36)} ${p.maxRatePerGpu.toFixed(2).padStart(8)} ${p.outputTokensPerSecondPerGpu.toFixed(0).padStart(10)} ` +
            `${p.costPerMillionOutputTokensUsd === null ? '       -' : p.costPerMillionOutputTokensUsd.toFixed(3).padStart(8)} ` +
            `${String(p.gpusForTarget ?? '-').padStart(11)}  ${p.pareto ? '*' : ''}\n`,
        );
      for (const s of skipped) io.stdout(`skipped ${s.label}: ${s.reason.split('\n')[0]}\n`);
    }
    return 0;
  },
};
