import * as fs from 'node:fs';
import * as path from 'node:path';
import { openKvSample, profileFromSample, synthesizeKvSample, type KvSource } from '@kvplan/fusion';
import {
  InputError,
  parseSpecText,
  sloChecks,
  type SloCheck,
  simulate,
  type FusionProfile,
  type InputIssue,
  type ResolvedSpec,
  type SimulationResult,
} from '@kvplan/sim';
import type { Command } from '../command';
import { writeFileAtomic } from '../io';
import { ensureKernel, ensureTfBackend } from '../tf-backend';
import { Progress } from '../progress';
import { attentionPercent, deploymentLine, sloLine, sloTargets } from '../format';
import { inputFileIssue, outputFileIssue, throwIssues } from '../paths';
import { readSpecFile, resolveSpecFile } from '../spec-file';

/** A plan file: the deployment to project, where KV blocks come from, and the fusion to try. */
interface PlanFile {
  deployment: string;
  kv: { synthetic?: { numSeqs?: number; blocksPerSeq?: number; seed?: number }; file?: string };
  fusion: { mode: 'bff' | 'cff'; thresholds: number[]; scope: 'global' | 'tenant' };
}

function readPlan(file: string, cwd: string): { plan: PlanFile; baseDir: string } {
  throwIssues([inputFileIssue(file, cwd, 'PLAN')]);
  const full = path.resolve(cwd, file);
  const raw = parseSpecText(fs.readFileSync(full, 'utf8'), file);
  const issues: InputIssue[] = [];
  const obj = (raw ?? {}) as Record<string, unknown>;
  const only = (o: Record<string, unknown>, keys: string[], where: string) => {
    for (const k of Object.keys(o))
      if (!keys.includes(k))
        issues.push({ path: `${where}${k}`, message: `unknown key (allowed: ${keys.join(', ')})` });
  };
  only(obj, ['deployment', 'kv', 'fusion'], '');
  if (typeof obj.deployment !== 'string')
    issues.push({ path: 'deployment', message: 'expected the path of a simulation spec' });
  const kv = (obj.kv ?? { synthetic: {} }) as Record<string, unknown>;
  only(kv, ['synthetic', 'file'], 'kv.');
  if ((kv.synthetic === undefined) === (kv.file === undefined))
    issues.push({ path: 'kv', message: 'expected exactly one of synthetic: {...} or file: PATH' });
  if (kv.synthetic !== undefined) {
    const s = (kv.synthetic ?? {}) as Record<string, unknown>;
    only(s, ['numSeqs', 'blocksPerSeq', 'seed'], 'kv.synthetic.');
    for (const k of ['numSeqs', 'blocksPerSeq'])
      if (
        s[k] !== undefined &&
        !(Number.isInteger(s[k]) && (s[k] as number) >= 1 && (s[k] as number) <= 4096)
      )
        issues.push({
          path: `kv.synthetic.${k}`,
          message: `expected an integer in 1..4096, got ${JSON.stringify(s[k])}`,
        });
  }
  if (kv.file !== undefined && typeof kv.file !== 'string')
    issues.push({ path: 'kv.file', message: 'expected a path to a kvplan-kv/1 safetensors file' });
  const fusion = (obj.fusion ?? {}) as Record<string, unknown>;
  only(fusion, ['mode', 'thresholds', 'scope'], 'fusion.');
  const mode = fusion.mode ?? 'bff';
  if (mode !== 'bff' && mode !== 'cff')
    issues.push({ path: 'fusion.mode', message: `expected bff or cff, got ${JSON.stringify(mode)}` });
  const scope = fusion.scope ?? 'global';
  if (scope !== 'global' && scope !== 'tenant')
    issues.push({ path: 'fusion.scope', message: `expected global or tenant, got ${JSON.stringify(scope)}` });
  const thresholds = fusion.thresholds ?? [0.7];
  if (
    !Array.isArray(thresholds) ||
    thresholds.length === 0 ||
    thresholds.some((t) => typeof t !== 'number' || t < -1 || t > 1)
  )
    issues.push({
      path: 'fusion.thresholds',
      message: `expected a non-empty list of numbers in [-1, 1], got ${JSON.stringify(thresholds)}`,
    });
  if (issues.length) throw new InputError(issues);
  return {
    plan: {
      deployment: obj.deployment as string,
      kv: kv as PlanFile['kv'],
      fusion: {
        mode: mode as 'bff' | 'cff',
        thresholds: thresholds as number[],
        scope: scope as 'global' | 'tenant',
      },
    },
    baseDir: path.dirname(full),
  };
}

function loadDeployment(file: string, baseDir: string): ResolvedSpec {
  return resolveSpecFile(readSpecFile(file, baseDir, 'deployment'));
}

/** One line an operator can act on: do the SLOs hold, does fusion decide it, is KV memory the limit? */
export function verdict(
  base: Judged,
  rows: Array<{ threshold: number; projection: Judged['projection']; slo: SloCheck[] | null }>,
  totalBlocks: number,
  accuracy: (threshold: number) => string,
): string {
  const peak = base.projection.kv_peak_used_blocks / totalBlocks;
  const meets = (c: SloCheck[] | null) => c !== null && c.every((x) => x.ok);
  if (base.slo) {
    const passing = rows.filter((r) => meets(r.slo));
    if (!meets(base.slo) && passing.length) {
      // The highest passing threshold: the least fusion (and distortion) that does it.
      const best = passing.reduce((a, b) => (b.threshold > a.threshold ? b : a));
      return (
        `fusion decides it: without fusion the SLOs are missed (${sloLine(base.slo)}; ${base.projection.preemptions} preemptions, ` +
        `KV peak ${(peak * 100).toFixed(0)} % of blocks); with fusion at threshold ${best.threshold} they are met ` +
        `(${sloLine(best.slo!)}; ${best.projection.preemptions} preemptions, ${((best.projection.fusion?.fused_fraction ?? 0) * 100).toFixed(1)} % of KV blocks freed). ` +
        `Its price: ${accuracy(best.threshold)}.`
      );
    }
    if (meets(base.slo))
      return (
        `the SLOs are met without fusion (${sloLine(base.slo)}): fusion is not needed for them` +
        (peak >= 0.9 || base.projection.preemptions > 0
          ? `; it would add KV capacity (peak ${(peak * 100).toFixed(0)} % of blocks, ${base.projection.preemptions} preemptions without it).`
          : ` and KV memory is not the limit (peak ${(peak * 100).toFixed(0)} % of blocks).`)
      );
    const best = rows.reduce(
      (a, b) => (b.projection.p99_ttft_ms < a.projection.p99_ttft_ms ? b : a),
      rows[0] ?? { threshold: NaN, projection: base.projection, slo: base.slo },
    );
    return (
      `the SLOs are missed with and without fusion (without: ${sloLine(base.slo)}; best, threshold ${best.threshold}: ` +
      `${best.slo ? sloLine(best.slo) : '-'}): fusion alone does not fix this deployment; add GPUs or lower the load (kvplan capacity).`
    );
  }
  if (base.projection.preemptions === 0 && peak < 0.9)
    return (
      `KV memory is not the limit here (peak ${(peak * 100).toFixed(0)} % of blocks, no preemptions without fusion): ` +
      'fusion adds capacity this traffic does not use; raise the load or shrink the GPU to see what it buys.'
    );
  const score = (p: Judged['projection']) => p.p99_ttft_ms / Math.max(p.output_throughput, 1e-9);
  const best = rows.reduce((a, b) => (score(b.projection) < score(a.projection) ? b : a));
  const pct = (a: number, b: number) => {
    const v = Number((((a - b) / b) * 100).toFixed(1));
    return `${v > 0 ? '+' : ''}${v === 0 ? '0.0' : v.toFixed(1)} %`;
  };
  return (
    `KV memory binds (peak ${(peak * 100).toFixed(0)} % of blocks, ${base.projection.preemptions} preemptions without fusion). ` +
    `Best threshold ${best.threshold}: output throughput ${pct(best.projection.output_throughput, base.projection.output_throughput)}, ` +
    `p99 TTFT ${pct(best.projection.p99_ttft_ms, base.projection.p99_ttft_ms)}, preemptions ${best.projection.preemptions}; ` +
    `its price: ${accuracy(best.threshold)}.`
  );
}

/** A projection with its SLO checks (null without SLOs in the deployment). */
export interface Judged {
  projection: ReturnType<typeof pick>;
  slo: SloCheck[] | null;
}

const pick = (r: SimulationResult) => ({
  output_throughput: r.output_throughput,
  request_throughput: r.request_throughput,
  request_goodput: r.request_goodput,
  p99_ttft_ms: r.p99_ttft_ms,
  p99_tpot_ms: r.p99_tpot_ms,
  mean_e2el_ms: r.mean_e2el_ms,
  kv_peak_used_blocks: r.kv_peak_used_blocks,
  kv_mean_used_fraction: r.kv_mean_used_fraction,
  mean_batch_size: r.mean_batch_size,
  preemptions: r.preemptions,
  cost_per_million_output_tokens_usd: r.cost_per_million_output_tokens_usd,
  fusion: r.fusion,
});

export const planCommand: Command = {
  name: 'plan',
  usage: 'plan PLAN.yaml [--json] [--profile out.json]',
  summary:
    'End to end: KV samples -> fusion profile -> the deployment simulated with and without fusion, with accuracy figures',
  maxPositionals: 1,
  flags: {
    json: { type: 'boolean', description: 'print one JSON document' },
    profile: { type: 'string', description: 'also write the fusion profile (kvplan-fusion-profile/1) here' },
  },
  async run(args, io) {
    const [file] = args.positionals;
    if (!file)
      throw new InputError([
        {
          path: 'PLAN',
          message: 'expected a plan file (see examples/plans/llama-3.1-8b-l4-long-context.yaml)',
        },
      ]);
    const { plan, baseDir } = readPlan(file, io.cwd);
    throwIssues([
      plan.kv.file === undefined ? null : inputFileIssue(plan.kv.file, baseDir, 'kv.file'),
      args.flags.profile === undefined
        ? null
        : outputFileIssue(args.flags.profile as string, io.cwd, '--profile'),
    ]);
    const spec = loadDeployment(plan.deployment, baseDir);
    const m = spec.model;

    let source: KvSource;
    let sourceLabel: string;
    if (plan.kv.file) {
      source = openKvSample(path.resolve(baseDir, plan.kv.file));
      sourceLabel = `KV sample ${plan.kv.file}`;
    } else {
      const s = plan.kv.synthetic ?? {};
      source = synthesizeKvSample({
        numSeqs: s.numSeqs ?? 16,
        blocksPerSeq: s.blocksPerSeq ?? 16,
        numLayers: m.numLayers,
        blockSize: spec.engine.blockSize,
        numKvHeads: m.numKvHeads,
        headDim: m.headDim,
        ...(s.seed !== undefined ? { seed: s.seed } : {}),
      });
      sourceLabel = `synthetic KV shaped like ${m.id} (generated, not measured on a model)`;
    }
    const backend = await ensureTfBackend(io);
    const { kernel } = await ensureKernel(io);
    const json = Boolean(args.flags.json);
    const fusing = new Progress(io, 'kvplan plan: fusing', { json });
    let sampled: Awaited<ReturnType<typeof profileFromSample>>;
    try {
      sampled = await profileFromSample(
        source,
        { mode: plan.fusion.mode, thresholds: plan.fusion.thresholds, scope: plan.fusion.scope, kernel },
        {},
        {
          onLayer: (_r, l, n) => fusing.update((l + 1) / n, `layer ${l + 1}/${n}`),
        },
      );
    } finally {
      source.close?.();
    }
    fusing.done();
    const analysis = sampled.analysis;
    // The profile keeps the capped rate-distortion fit when it predicts unseen batch sizes better.
    // libs/fusion and libs/sim each declare kvplan-fusion-profile/1 (they are leaves): this
    // assignment, without a cast, keeps the producer's type within the consumer's.
    const profile: FusionProfile = sampled.profile;
    if (args.flags.profile)
      writeFileAtomic(
        path.resolve(io.cwd, args.flags.profile as string),
        JSON.stringify(profile, null, 2) + '\n',
      );

    // One run without fusion and one per threshold, each reporting the fraction of its requests done.
    const runs = 1 + analysis.thresholds.length;
    const simulating = new Progress(io, 'kvplan plan: simulating', { json });
    const progressOf = (k: number, what: string) => ({
      onProgress: (f: number) => simulating.update((k + f) / runs, what),
    });
    const baseline = simulate({ ...spec, fusion: null }, progressOf(0, 'without fusion')).result;
    const judge = (r: SimulationResult) => (spec.slo ? sloChecks(r, spec.slo) : null);
    const rows = analysis.thresholds.map((t, k) => {
      const result = simulate(
        {
          ...spec,
          fusion: {
            mode: plan.fusion.mode,
            threshold: t.threshold,
            scope: plan.fusion.scope,
            window: analysis.options.window,
            sharedReads: false,
            profile,
          },
        },
        progressOf(k + 1, `threshold ${t.threshold}`),
      ).result;
      return {
        threshold: t.threshold,
        compressionRatio: t.compressionRatio,
        compressionRatioAllLayers: t.compressionRatioAllLayers,
        distortion: t.distortion,
        projection: pick(result),
        slo: judge(result),
      };
    });
    simulating.done();
    const q = analysis.thresholds.find((t) => t.distortion)?.distortion?.querySource ?? null;
    const accuracy = {
      source: q === null ? 'none' : 'attention-proxy',
      how:
        q === null
          ? 'no attention error measured'
          : `attention-output relative error on ${sourceLabel}, ${q === 'file' ? "with the sample's own queries" : 'with each sequence’s last keys standing in for queries'}; not a model-level accuracy measurement`,
    };
    const doc = {
      deployment: {
        model: m.id,
        gpu: spec.gpu.id,
        tensorParallel: spec.tensorParallel,
        replicas: spec.replicas,
        numGpuBlocks: spec.engine.numGpuBlocks,
      },
      kv: {
        source: sourceLabel,
        numSeqs: analysis.info.numSeqs,
        numLayers: analysis.info.numLayers,
        synthetic: !plan.kv.file,
      },
      tfBackend: backend.backend,
      similarityKernel: kernel.name,
      fusion: plan.fusion,
      profile: { source: profile.source, fusedLayers: profile.fusedLayers.length },
      accuracy,
      baseline: pick(baseline),
      baselineSlo: judge(baseline),
      thresholds: rows,
    };
    if (args.flags.json) {
      io.stdout(JSON.stringify(doc, null, 2) + '\n');
      return 0;
    }
    const f = (v: number | undefined | null, d = 1) =>
      v === undefined || v === null || !Number.isFinite(v) ? '-' : v.toFixed(d);
    io.stdout(
      `${deploymentLine(spec)}; ${plan.fusion.mode.toUpperCase()} (${plan.fusion.scope}), fusion profile measured on ${sourceLabel}\n` +
        (spec.slo ? `SLOs: ${sloTargets(spec.slo)}\n` : '') +
        '\n',
    );
    io.stdout(
      'threshold  compression  KV freed  out tok/s  p99 TTFT ms  p99 TPOT ms  mean batch  preempt  attn err' +
        (spec.slo ? '  SLOs' : '') +
        '\n',
    );
    const met = (c: SloCheck[] | null) => (c === null ? '' : c.every((x) => x.ok) ? '  met' : '  missed');
    const line = (
      label: string,
      comp: string,
      r: ReturnType<typeof pick>,
      freed: string,
      err: string,
      slo: SloCheck[] | null,
    ) =>
      io.stdout(
        `${label.padEnd(9)}  ${comp.padStart(11)}  ${freed.padStart(8)}  ${f(r.output_throughput, 0).padStart(9)}  ${f(r.p99_ttft_ms).padStart(11)}  ` +
          `${f(r.p99_tpot_ms).padStart(11)}  ${f(r.mean_batch_size).padStart(10)}  ${String(r.preemptions).padStart(7)}  ${err.padStart(8)}${met(slo)}\n`,
      );
    line('none', '1.00x', doc.baseline, '-', '-', doc.baselineSlo);
    for (const r of rows)
      line(
        r.threshold.toFixed(2),
        r.compressionRatio === null ? '-' : `${r.compressionRatio.toFixed(2)}x`,
        r.projection,
        `${f((r.projection.fusion?.fused_fraction ?? 0) * 100)} %`,
        attentionPercent(r.distortion?.attentionRelError),
        r.slo,
      );
    io.stdout(
      `\ncompression: the paper's count (fused layers only) on the KV sample; KV freed: share of blocks the simulated serving run freed\n`,
    );
    io.stdout(`accuracy: ${accuracy.how}\n`);
    const accuracyAt = (t: number) => {
      const e = rows.find((r) => r.threshold === t)?.distortion?.attentionRelError;
      return e === null || e === undefined
        ? 'no attention error measured'
        : `attention-output error ${attentionPercent(e)} (${accuracy.source === 'attention-proxy' ? 'a proxy on the KV sample, not model accuracy' : accuracy.source})`;
    };
    io.stdout(
      `verdict: ${verdict({ projection: doc.baseline, slo: doc.baselineSlo }, rows, spec.engine.numGpuBlocks * spec.replicas, accuracyAt)}\n`,
    );
    return 0;
  },
};
