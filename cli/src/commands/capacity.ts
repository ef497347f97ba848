import {
  InputError,
  answerRowOf,
  evaluateCapacity,
  markPareto,
  planAnswer,
  unfitAnswerRow,
  verifyReplicas,
  kernelCalibrationFor,
  sloConfidences,
  type CapacityEvaluation,
  type CapacityOptions,
  type InputIssue,
  type ResolvedSpec,
  type SloSpec,
  type SweepPoint,
  type Verification,
} from '@kvplan/sim';
import type { Command } from '../command';
import { deploymentLine, fusionLine, layout, money, verificationLine } from '../format';
import { inRange } from '../args';
import { Progress } from '../progress';
import { defaultThreads, runSweepThreads, sweepConfig, type SweepRow, type SweepTask } from '../sweep-pool';
import { readSpecFile, resolveSpecFile, type SpecFile } from '../spec-file';

// Sweep values are checked by the spec validator itself (each variant is resolved before any
// simulation), so a bad one is named as `--sweep-x: value: what the spec field expects`.
const list = (v: unknown): string[] | undefined =>
  typeof v === 'string'
    ? v
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean)
    : undefined;
const nums = (v: unknown): number[] | undefined =>
  Array.isArray(v) ? (v as number[]) : typeof v === 'number' ? [v] : undefined;

/** One configuration of a sweep: the spec's keys it overrides, and which flag each came from. */
interface Variant {
  label: string;
  over: Record<string, unknown>;
  from: Array<[field: string, flag: string, value: unknown]>;
}

export const capacityCommand: Command = {
  name: 'capacity',
  usage: 'capacity SPEC [--target-rate R] [--sweep-* ...] [--json]',
  summary:
    'Highest rate under the SLOs, fewest GPUs for a rate, and a Pareto sweep over GPUs, TP/DP/EP layouts, engine knobs and fusion',
  maxPositionals: 1,
  flags: {
    json: { type: 'boolean', description: 'print one JSON document' },
    'target-rate': {
      type: 'number',
      description: 'find the fewest replicas (GPUs) that serve this many requests/s',
      check: (v) => ((v as number) > 0 ? null : `expected a positive rate, got ${String(v)}`),
    },
    goodput: {
      type: 'number',
      description: 'judge by goodput: this fraction of requests must meet every SLO term',
      check: (v) =>
        (v as number) > 0 && (v as number) <= 1 ? null : `expected a fraction in (0, 1], got ${String(v)}`,
    },
    tolerance: {
      type: 'number',
      description: 'relative precision of the highest rate (default 0.02)',
      default: 0.02,
      check: inRange(0, 1, 'a number in (0, 1)', true),
    },
    seeds: {
      type: 'integer',
      description: 'verify the answer on N seeds (spec seed, +1, ...) and print the 90 % interval (calibration residuals and seeds)',
      default: 1,
      check: inRange(1, 100, 'an integer in 1..100'),
    },
    extend: {
      type: 'boolean',
      description:
        'repeat a workload too short to measure the rates in question (default); --no-extend refuses instead',
      default: true,
    },
    threads: {
      type: 'integer',
      description: 'worker threads for a sweep (default: one per core)',
      check: inRange(1, 256, 'an integer in 1..256'),
    },
    'sweep-gpus': { type: 'string', description: 'comma list of GPU presets to sweep' },
    'sweep-tp': { type: 'numbers', description: 'tensor-parallel degrees to sweep' },
    'sweep-pp': { type: 'numbers', description: 'pipeline-parallel degrees to sweep (pipelineParallel)' },
    'sweep-kv-offload-gib': {
      type: 'numbers',
      description: 'CPU KV offload sizes to sweep, GiB per replica (kvOffload.cpuGiB; 0: no offload)',
    },
    'sweep-dp': { type: 'numbers', description: 'data-parallel ranks per replica to sweep (dataParallel)' },
    'sweep-ep': {
      type: 'string',
      description: 'expert parallelism to sweep: comma list of on, off (expertParallel)',
    },
    'sweep-shapes': {
      type: 'string',
      description:
        'parallel layouts to compare, instead of --sweep-tp/-dp/-ep: comma list of tpN[xdpM][+ep], e.g. tp1xdp8+ep,tp4xdp2,tp8',
    },
    'sweep-max-num-seqs': {
      type: 'numbers',
      description: 'maxNumSeqs values to sweep',
    },
    'sweep-batched-tokens': {
      type: 'numbers',
      description: 'maxNumBatchedTokens values to sweep',
    },
    'sweep-thresholds': {
      type: 'numbers',
      description: 'fusion thresholds to sweep (no fusion is always included)',
    },
  },
  async run(args, io) {
    const [file] = args.positionals;
    if (!file) throw new InputError([{ path: 'SPEC', message: 'expected a spec file' }]);
    const tol = args.flags.tolerance as number;
    const goodput = args.flags.goodput as number | undefined;
    const target = args.flags['target-rate'] as number | undefined;
    const seeds = args.flags.seeds as number;
    const spec = readSpecFile(file, io.cwd);
    const base = resolveSpecFile(spec);
    if (!base.slo)
      throw new InputError([
        {
          path: 'slo',
          message: 'capacity planning needs SLOs: add slo: {ttftMs: {p99: ...}, ...} to the spec',
        },
      ]);
    const slo: SloSpec = base.slo;
    const opts: CapacityOptions = {
      relTolerance: tol,
      ...(goodput !== undefined ? { minGoodputFraction: goodput } : {}),
      ...(target !== undefined ? { targetRate: target } : {}),
      ...(args.flags.extend ? {} : { maxExtendedRequests: 0 }),
    };
    const json = Boolean(args.flags.json);
    const variants = sweepVariants(spec, args.flags);
    if (!variants) return single(spec, base, slo, opts, seeds, json, io);

    // Every variant is resolved before any simulation: a bad sweep value is bad input.
    const resolved: Array<{ variant: Variant; spec: ResolvedSpec | null; problem: string | null }> = [];
    const bad = new Map<string, InputIssue>();
    for (const variant of variants) {
      try {
        resolved.push({ variant, spec: resolveSpecFile(spec, variant.over), problem: null });
      } catch (err) {
        if (!(err instanceof InputError)) throw err;
        const own = err.issues.filter((i) => variant.from.some(([field]) => field === i.path));
        for (const i of own) {
          const [, flag, value] = variant.from.find(([field]) => field === i.path)!;
          const key = `${flag} ${String(value)}`;
          if (!bad.has(key)) bad.set(key, { path: flag, message: `${String(value)}: ${i.message}` });
        }
        // Anything else (the model does not fit, say) makes a valid but infeasible configuration.
        resolved.push({ variant, spec: null, problem: err.issues.map((i) => i.message).join('; ') });
      }
    }
    if (bad.size) throw new InputError([...bad.values()]);

    const threads = Math.min(
      (args.flags.threads as number | undefined) ?? defaultThreads(resolved.length),
      resolved.length,
    );
    const progress = new Progress(
      io,
      `kvplan capacity (${threads} ${threads === 1 ? 'thread' : 'threads'})`,
      {
        json,
      },
    );
    const tasks: SweepTask[] = resolved.flatMap((r, index) =>
      r.spec ? [{ index, label: r.variant.label, over: r.variant.over }] : [],
    );
    const { onProbe: _, ...plainOpts } = opts;
    const rows: Map<number, SweepRow> =
      threads > 1
        ? await runSweepThreads({ spec, slo, opts: plainOpts }, tasks, threads, (f, d) =>
            progress.update(f, d),
          )
        : new Map(
            tasks.map((t, k) => {
              progress.update(k / tasks.length, t.label);
              const s = resolved[t.index].spec!;
              const ev = evaluateCapacity(s, slo, t.label, opts);
              const row =
                target === undefined
                  ? null
                  : answerRowOf(s, slo, sweepConfig(t), target, ev, opts.maxReplicas);
              return [t.index, { point: ev.point, row }] as const;
            }),
          );
    progress.done();
    const points: SweepPoint[] = resolved.map(
      (r, index) => rows.get(index)?.point ?? unfit(base, r.variant, r.problem ?? 'not evaluated'),
    );
    markPareto(points);
    // With a target rate, the answer: the cheapest configurations in one sentence (libs/sim's planAnswer).
    const answer =
      target === undefined
        ? null
        : planAnswer(
            points.map(
              (p, index) => rows.get(index)?.row ?? unfitAnswerRow(unfitConfig(p, index), unfitReason(p)),
            ),
            target,
          );
    if (json) io.stdout(JSON.stringify({ slo, points, ...(answer && { answer }) }, null, 2) + '\n');
    else io.stdout(sweepTable(points, target) + (answer ? `\n${answer.sentence}\n` : ''));
    return 0;
  },
};

/** The sweep's configurations, or null when no sweep flag was given. */
function sweepVariants(spec: SpecFile, flags: Record<string, unknown>): Variant[] | null {
  const gpus = list(flags['sweep-gpus']);
  const seqs = nums(flags['sweep-max-num-seqs']);
  const batched = nums(flags['sweep-batched-tokens']);
  const thresholds = nums(flags['sweep-thresholds']);
  const pps = nums(flags['sweep-pp']);
  const offloads = nums(flags['sweep-kv-offload-gib']);
  const shapes = parallelShapes(flags);
  if (!(gpus || shapes || seqs || batched || thresholds || pps || offloads)) return null;
  const raw = spec.raw;
  const out: Variant[] = [];
  for (const gpu of gpus ?? [undefined])
    for (const shape of shapes ?? [undefined])
      for (const pp of pps ?? [undefined])
        for (const cpuGiB of offloads ?? [undefined])
          for (const s of seqs ?? [undefined])
            for (const b of batched ?? [undefined])
              for (const t of [null, ...(thresholds ?? [])]) {
                const from: Variant['from'] = [];
                const over: Record<string, unknown> = {};
                if (gpu !== undefined) {
                  over.gpu = gpu;
                  from.push(['gpu', '--sweep-gpus', gpu]);
                }
                const tp = shape?.tp;
                if (shape) {
                  for (const [field, value] of [
                    ['tensorParallel', shape.tp],
                    ['dataParallel', shape.dp],
                    ['expertParallel', shape.ep],
                  ] as const)
                    if (value !== undefined) {
                      over[field] = value;
                      from.push([field, shape.flag[field], shape.flag.value ?? value]);
                    }
                }
                if (pp !== undefined) {
                  over.pipelineParallel = pp;
                  from.push(['pipelineParallel', '--sweep-pp', pp]);
                }
                // 0 GiB: the row without offload.
                if (cpuGiB !== undefined) {
                  over.kvOffload =
                    cpuGiB === 0 ? undefined : { ...((raw.kvOffload as object) ?? {}), cpuGiB };
                  if (cpuGiB !== 0) from.push(['kvOffload.cpuGiB', '--sweep-kv-offload-gib', cpuGiB]);
                }
                if (s !== undefined || b !== undefined) {
                  over.engine = {
                    ...((raw.engine as object) ?? {}),
                    ...(s !== undefined ? { maxNumSeqs: s } : {}),
                    ...(b !== undefined ? { maxNumBatchedTokens: b } : {}),
                  };
                  if (s !== undefined) from.push(['engine.maxNumSeqs', '--sweep-max-num-seqs', s]);
                  if (b !== undefined) from.push(['engine.maxNumBatchedTokens', '--sweep-batched-tokens', b]);
                }
                // With a threshold sweep, "no fusion" is one of the rows; without one the spec's own fusion stays.
                if (thresholds)
                  over.fusion = t === null ? undefined : { ...((raw.fusion as object) ?? {}), threshold: t };
                if (t !== null) from.push(['fusion.threshold', '--sweep-thresholds', t]);
                const dp = shape?.dp ?? raw.dataParallel;
                const ep = shape?.ep ?? raw.expertParallel;
                const label =
                  `${gpu ?? (typeof raw.gpu === 'string' ? raw.gpu : 'gpu')} tp${tp ?? raw.tensorParallel ?? 1}` +
                  `${typeof dp === 'number' && dp > 1 ? `xdp${dp}` : ''}${ep === true ? '+ep' : ''}` +
                  `${pp !== undefined ? ` pp${pp}` : ''}${cpuGiB !== undefined ? ` cpu${cpuGiB}G` : ''}` +
                  `${s !== undefined ? ` seqs${s}` : ''}${b !== undefined ? ` tok${b}` : ''}${t === null ? '' : ` fuse@${t}`}`;
                out.push({ label, over, from });
              }
  return out;
}

/** One parallel layout of a sweep, and the flag each of its fields came from. */
interface Shape {
  tp?: number;
  dp?: number;
  ep?: boolean;
  flag: Record<'tensorParallel' | 'dataParallel' | 'expertParallel', string> & { value?: string };
}

const SHAPE = /^tp(\d+)(?:\s*x\s*dp(\d+))?(\+ep)?$/i;

/**
 * The layouts to sweep: --sweep-shapes as given (each tpN[xdpM][+ep]; dataParallel 1 and no
 * expert parallelism unless said), else every combination of --sweep-tp, --sweep-dp and
 * --sweep-ep; undefined when none was given.
 */
function parallelShapes(flags: Record<string, unknown>): Shape[] | undefined {
  const tps = nums(flags['sweep-tp']);
  const dps = nums(flags['sweep-dp']);
  const eps = list(flags['sweep-ep']);
  const shapes = list(flags['sweep-shapes']);
  if (shapes) {
    if (tps || dps || eps)
      throw new InputError([
        {
          path: '--sweep-shapes',
          message: 'give either --sweep-shapes or --sweep-tp/--sweep-dp/--sweep-ep, not both',
        },
      ]);
    return shapes.map((text) => {
      const m = SHAPE.exec(text);
      if (!m)
        throw new InputError([
          {
            path: '--sweep-shapes',
            message: `${JSON.stringify(text)}: expected tpN, tpNxdpM or either with +ep, e.g. tp1xdp8+ep`,
          },
        ]);
      const flag = '--sweep-shapes';
      return {
        tp: Number(m[1]),
        dp: m[2] === undefined ? 1 : Number(m[2]),
        ep: m[3] !== undefined,
        flag: { tensorParallel: flag, dataParallel: flag, expertParallel: flag, value: text },
      };
    });
  }
  const epValues = eps?.map((v) => {
    const on = /^(on|true|yes)$/i.test(v);
    if (!on && !/^(off|false|no)$/i.test(v))
      throw new InputError([{ path: '--sweep-ep', message: `${JSON.stringify(v)}: expected on or off` }]);
    return on;
  });
  if (!(tps || dps || epValues)) return undefined;
  const flag = { tensorParallel: '--sweep-tp', dataParallel: '--sweep-dp', expertParallel: '--sweep-ep' };
  const out: Shape[] = [];
  for (const tp of tps ?? [undefined])
    for (const dp of dps ?? [undefined])
      for (const ep of epValues ?? [undefined]) out.push({ tp, dp, ep, flag });
  return out;
}

/** The row of a configuration that cannot even be deployed (the model does not fit, say). */
function unfit(base: ResolvedSpec, v: Variant, problem: string): SweepPoint {
  const tp = Number(v.over.tensorParallel ?? base.tensorParallel);
  return {
    label: v.label,
    gpu: String(v.over.gpu ?? base.gpu.id),
    tensorParallel: tp,
    pipelineParallel: Number(v.over.pipelineParallel ?? base.pipelineParallel ?? 1),
    kvOffloadGiB:
      'kvOffload' in v.over
        ? ((v.over.kvOffload as { cpuGiB?: number } | undefined)?.cpuGiB ?? null)
        : (base.kvOffload?.cpuGiB ?? null),
    dataParallel: Number(v.over.dataParallel ?? base.dataParallel),
    expertParallel: Boolean(v.over.expertParallel ?? base.expertParallel),
    maxNumSeqs: base.engine.maxNumSeqs,
    maxNumBatchedTokens: base.engine.maxNumBatchedTokens,
    fusionThreshold: (v.over.fusion as { threshold?: number } | undefined)?.threshold ?? null,
    maxRatePerReplica: 0,
    maxRatePerGpu: 0,
    outputTokensPerSecondPerGpu: 0,
    costPerMillionOutputTokensUsd: null,
    costPerMillionTotalTokensUsd: null,
    feasible: false,
    limitedBy: `infeasible: ${problem}`,
    replicasForTarget: null,
    gpusForTarget: null,
    pareto: false,
  };
}

/** An unfit sweep row's configuration, as an answer row names it. */
function unfitConfig(p: SweepPoint, index: number) {
  return {
    index,
    deploymentId: '',
    deploymentName: p.label,
    gpu: p.gpu,
    tensorParallel: p.tensorParallel,
    threshold: p.fusionThreshold,
    fusionMode: null,
  };
}

const unfitReason = (p: SweepPoint): string => p.limitedBy.replace(/^infeasible: /, '');

function sweepTable(points: SweepPoint[], target: number | undefined): string {
  const lines = [
    `${'config'.padEnd(32)} ${'req/s/GPU'.padStart(9)} ${'out tok/s/GPU'.padStart(13)} ${'$/M out tok'.padStart(11)} ` +
      `${'$/M total tok'.padStart(13)} ${(target !== undefined ? `GPUs@${target}` : 'GPUs@target').padStart(11)}  pareto  limited by`,
  ];
  for (const p of points)
    lines.push(
      `${p.label.padEnd(32)} ${(p.feasible ? p.maxRatePerGpu.toFixed(2) : 'infeasible').padStart(9)} ` +
        `${p.outputTokensPerSecondPerGpu.toFixed(0).padStart(13)} ${money(p.costPerMillionOutputTokensUsd).padStart(11)} ` +
        `${money(p.costPerMillionTotalTokensUsd).padStart(13)} ${String(p.gpusForTarget ?? '-').padStart(11)}  ` +
        `${(p.pareto ? '*' : '').padEnd(6)}  ${p.limitedBy}`,
    );
  lines.push(
    '',
    'req/s/GPU: highest rate meeting the SLOs per GPU; $/M: USD per million output tokens, and per million input plus output tokens, at that rate; * on the Pareto front (rate per GPU, cost, fusion threshold; infeasible rows never are)',
  );
  return lines.join('\n') + '\n';
}

/** The answer for the spec's own configuration, with the verifying simulation beside it. */
function single(
  spec: SpecFile,
  base: ResolvedSpec,
  slo: SloSpec,
  opts: CapacityOptions,
  seeds: number,
  json: boolean,
  io: Parameters<Command['run']>[1],
): number {
  const progress = new Progress(io, 'kvplan capacity', { json });
  const ev: CapacityEvaluation = evaluateCapacity(base, slo, 'spec', {
    ...opts,
    onProbe: (p, k, max) => progress.update(k / max, `probe ${k} at ${p.rate.toPrecision(3)} req/s`),
  });
  const { point, measured } = ev;
  const max = measured.search;
  const n = base.workload.n;
  if (max.tooShort) {
    progress.done();
    throw new InputError([
      {
        path: 'workload',
        message:
          `${n} requests are too few to measure ${max.tooShort.rate.toPrecision(3)} req/s per replica: ` +
          `a run at that rate needs at least ${max.tooShort.requestsNeeded} requests` +
          (opts.maxExtendedRequests === 0
            ? ' (give workload.numRequests or a longer trace, or drop --no-extend to repeat the workload)'
            : ` (more than the ${measured.spec.workload.n} it may be repeated to; give workload.numRequests or a longer trace)`),
      },
    ]);
  }
  // The verifying simulation: the recommended size (or one replica at the highest rate) per seed.
  const replicas = ev.replicas?.replicas ?? 1;
  const rate = opts.targetRate ?? point.maxRatePerReplica;
  const specs = Array.from({ length: seeds }, (_, k) =>
    k === 0 ? base : resolveSpecFile(spec, { seed: base.seed + k }),
  );
  const verification: Verification | null =
    point.feasible && (ev.replicas || opts.targetRate === undefined)
      ? verifyReplicas(specs, replicas, rate, slo, measured.copies, opts)
      : null;
  progress.done();
  const workload = {
    requests: n,
    measuredOn: measured.spec.workload.n,
    repeated: measured.copies,
  };
  // How likely the answer meets each SLO term (libs/sim's one interval policy: calibration
  // residuals of this GPU's class and the spread over seeds), judged on the verifying simulation.
  const calibrated = kernelCalibrationFor(base.gpu).source;
  const confidence = verification
    ? sloConfidences(
        {
          ...Object.fromEntries(Object.entries(verification.metrics).map(([k, v]) => [k, v.value])),
          meta: { calibrated },
        },
        slo,
        { seedValues: verification.seedValues },
      )
    : [];
  if (json) {
    const doc = {
      slo,
      ...point,
      calibrated,
      confidence,
      workload,
      infeasible: max.infeasible,
      zeroLoad: max.zeroLoad,
      probes: max.probes,
      limitingTerms: max.firstFailing?.violations ?? [],
      verification,
    };
    io.stdout(JSON.stringify(doc, null, 2) + '\n');
    return 0;
  }
  const out: string[] = [`${deploymentLine(base, 1)} per replica`, fusionLine(base)];
  if (measured.copies > 1)
    out.push(
      `workload: ${n} requests, repeated ${measured.copies} times (${measured.spec.workload.n}) to measure these rates; --no-extend refuses instead`,
    );
  if (!point.feasible)
    out.push(
      `infeasible: cannot meet the SLOs at any rate (${point.limitedBy.replace(/^infeasible: /, '')})`,
    );
  else {
    out.push(
      `highest rate meeting the SLOs: ${point.maxRatePerReplica.toFixed(2)} req/s per replica (${point.maxRatePerGpu.toFixed(2)} per GPU)`,
    );
    out.push(`limited by: ${point.limitedBy}`);
    if (point.costPerMillionOutputTokensUsd !== null)
      out.push(
        `cost at that rate: ${money(point.costPerMillionOutputTokensUsd)} per million output tokens, ${money(point.costPerMillionTotalTokensUsd)} per million input + output tokens`,
      );
    if (opts.targetRate !== undefined)
      out.push(
        ev.replicas === null
          ? `${opts.targetRate} req/s: not reachable within 256 replicas`
          : `${opts.targetRate} req/s needs ${ev.replicas.replicas} ${ev.replicas.replicas === 1 ? 'replica' : 'replicas'} x ${layout(base)} = ${ev.replicas.gpus} GPUs`,
      );
  }
  if (verification) out.push(verificationLine(verification));
  for (const c of confidence) out.push(`at that size it ${c.text}`);
  out.push(`calibrated: ${calibrated}`);
  io.stdout(out.join('\n') + '\n');
  return 0;
}
