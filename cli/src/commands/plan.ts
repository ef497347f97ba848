import * as fs from 'node:fs';
import * as path from 'node:path';
import { openKvSample, profileFromSample, synthesizeKvSample, type KvSource } from '@kvplan/fusion';
import {
  InputError,
  parseSpecText,
  simulate,
  type FusionProfile,
  type InputIssue,
  type ResolvedSpec,
  type SimulationResult,
} from '@kvplan/sim';
import type { Command } from '../command';
import { writeFileAtomic } from '../io';
import { ensureTfBackend } from '../tf-backend';
import { finiteKvSource } from '../kv-check';
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

/** One line an operator can act on: is KV memory the limit, and what does the best threshold buy? */
function verdict(
  base: ReturnType<typeof pick>,
  rows: Array<{ threshold: number; projection: ReturnType<typeof pick> }>,
  totalBlocks: number,
): string {
  const peak = base.kv_peak_used_blocks / totalBlocks;
  if (base.preemptions === 0 && peak < 0.9)
    return (
      `KV memory is not the limit here (peak ${(peak * 100).toFixed(0)} % of blocks, no preemptions without fusion): ` +
      'fusion adds capacity this traffic does not use; raise the load or shrink the GPU to see what it buys.'
    );
  const score = (p: ReturnType<typeof pick>) => p.p99_ttft_ms / Math.max(p.output_throughput, 1e-9);
  const best = rows.reduce((a, b) => (score(b.projection) < score(a.projection) ? b : a));
  const pct = (a: number, b: number) => {
    const v = Number((((a - b) / b) * 100).toFixed(1));
    return `${v > 0 ? '+' : ''}${v === 0 ? '0.0' : v.toFixed(1)} %`;
  };
  return (
    `KV memory binds (peak ${(peak * 100).toFixed(0)} % of blocks, ${base.preemptions} preemptions without fusion). ` +
    `Best threshold ${best.threshold}: output throughput ${pct(best.projection.output_throughput, base.output_throughput)}, ` +
    `p99 TTFT ${pct(best.projection.p99_ttft_ms, base.p99_ttft_ms)}, preemptions ${best.projection.preemptions}; ` +
    'weigh that against its accuracy figure above.'
  );
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
      source = finiteKvSource(openKvSample(path.resolve(baseDir, plan.kv.file)), plan.kv.file);
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
    let sampled: Awaited<ReturnType<typeof profileFromSample>>;
    try {
      sampled = await profileFromSample(
        source,
        { mode: plan.fusion.mode, thresholds: plan.fusion.thresholds, scope: plan.fusion.scope },
        {},
        {
          onLayer: (_r, l, n) => {
            if (io.stderrIsTty) io.stderr(`\rfusing layer ${l + 1}/${n}`);
          },
        },
      );
    } finally {
      source.close?.();
    }
    if (io.stderrIsTty) io.stderr('\n');
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

    const baseline = simulate({ ...spec, fusion: null }).result;
    const rows = analysis.thresholds.map((t) => {
      const result = simulate({
        ...spec,
        fusion: {
          mode: plan.fusion.mode,
          threshold: t.threshold,
          scope: plan.fusion.scope,
          window: analysis.options.window,
          sharedReads: false,
          profile,
        },
      }).result;
      return {
        threshold: t.threshold,
        compressionRatio: t.compressionRatio,
        compressionRatioAllLayers: t.compressionRatioAllLayers,
        distortion: t.distortion,
        projection: pick(result),
      };
    });
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
      fusion: plan.fusion,
      profile: { source: profile.source, fusedLayers: profile.fusedLayers.length },
      accuracy,
      baseline: pick(baseline),
      thresholds: rows,
    };
    if (args.flags.json) {
      io.stdout(JSON.stringify(doc, null, 2) + '\n');
      return 0;
    }
    const f = (v: number | undefined | null, d = 1) =>
      v === undefined || v === null || !Number.isFinite(v) ? '-' : v.toFixed(d);
    io.stdout(
      `${m.id} on ${spec.replicas} x ${spec.tensorParallel} ${spec.gpu.name}; ${plan.fusion.mode.toUpperCase()} (${plan.fusion.scope}) from ${sourceLabel}\n\n`,
    );
    io.stdout(
      'threshold  compression  KV freed  out tok/s  p99 TTFT ms  p99 TPOT ms  mean batch  preempt  attn err\n',
    );
    const line = (label: string, comp: string, r: ReturnType<typeof pick>, freed: string, err: string) =>
      io.stdout(
        `${label.padEnd(9)}  ${comp.padStart(11)}  ${freed.padStart(8)}  ${f(r.output_throughput, 0).padStart(9)}  ${f(r.p99_ttft_ms).padStart(11)}  ` +
          `${f(r.p99_tpot_ms).padStart(11)}  ${f(r.mean_batch_size).padStart(10)}  ${String(r.preemptions).padStart(7)}  ${err.padStart(8)}\n`,
      );
    line('none', '1.00x', doc.baseline, '-', '0');
    for (const r of rows)
      line(
        r.threshold.toFixed(2),
        r.compressionRatio === null ? '-' : `${r.compressionRatio.toFixed(2)}x`,
        r.projection,
        `${f((r.projection.fusion?.fused_fraction ?? 0) * 100)} %`,
        r.distortion?.attentionRelError == null ? '-' : `${f(r.distortion.attentionRelError * 100, 2)} %`,
      );
    io.stdout(
      `\ncompression: the paper's count (fused layers only) on the KV sample; KV freed: share of blocks the simulated serving run freed\n`,
    );
    io.stdout(`accuracy: ${accuracy.how}\n`);
    io.stdout(`verdict: ${verdict(doc.baseline, rows, spec.engine.numGpuBlocks * spec.replicas)}\n`);
    return 0;
  },
};
