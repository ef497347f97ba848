/**
 * npm run bench:sim — simulator speed (issue: Speed). Prints a table and writes
 * bench/results/sim.json.
 *  (a) the Azure conversation trace (../shared/data beside the repository, else a generated trace
 *      of the same size) replayed ten times back to back, Llama-3.1-8B on one h100-sxm, default
 *      engine settings: in-process and as a whole `kvplan simulate` process;
 *  (b) one million requests, Poisson 15 req/s, prompts uniform 128-2048, outputs 64-1024, same
 *      deployment, in-process.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import {
  parseSimulationSpec,
  readTraceFile,
  simulate,
  tile,
  workloadToCsv,
  type Workload,
} from '@kvplan/sim';

const root = path.resolve(__dirname, '..');
const azure = path.resolve(root, '..', 'shared', 'data', 'azure-llm-2023', 'AzureLLMInferenceTrace_conv.csv');
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'kvplan-bench-'));

function baseTrace(): { workload: Workload; source: string } {
  if (fs.existsSync(azure))
    return { workload: readTraceFile(azure), source: 'Azure LLM 2023 conversation trace' };
  const spec = parseSimulationSpec(
    `model: meta-llama/Llama-3.1-8B\ngpu: h100-sxm\nworkload:\n  arrival: { process: poisson, rate: 5.53 }\n  numRequests: 19366\n  inputTokens: { lognormal: { median: 1020, sigma: 0.9, max: 8000 } }\n  outputTokens: { lognormal: { median: 130, sigma: 0.9, max: 2000 } }\n`,
    { fileName: 'generated.yaml', baseDir: tmp },
  );
  return { workload: spec.workload, source: 'generated stand-in of the same size (shared data absent)' };
}

const rows: Array<Record<string, string | number>> = [];

// (a) in-process
const { workload: trace, source } = baseTrace();
const ten = tile(trace, 10);
const traceFile = path.join(tmp, 'azure-conv-x10.csv');
fs.writeFileSync(traceFile, workloadToCsv(ten));
const specFile = path.join(tmp, 'a.yaml');
fs.writeFileSync(
  specFile,
  `model: meta-llama/Llama-3.1-8B\ngpu: h100-sxm\nworkload: { trace: ${path.basename(traceFile)} }\n`,
);
const specA = parseSimulationSpec(fs.readFileSync(specFile, 'utf8'), { fileName: 'a.yaml', baseDir: tmp });
const cpu = (start: NodeJS.CpuUsage) => {
  const u = process.cpuUsage(start);
  return (u.user + u.system) / 1e6;
};
let c0 = process.cpuUsage();
let t0 = performance.now();
const runA = simulate(specA);
const wallA = (performance.now() - t0) / 1000;
const cpuA = cpu(c0);
const simA = runA.result.duration;
rows.push({
  case: '(a) Azure conv x10, in-process',
  requests: ten.n,
  wall_s: +wallA.toFixed(2),
  cpu_s: +cpuA.toFixed(2),
  simulated_s: +simA.toFixed(0),
  sim_s_per_cpu_s: Math.round(simA / cpuA),
  requests_per_wall_s: Math.round(ten.n / wallA),
  peak_rss_mib: Math.round(process.resourceUsage().maxRSS / 1024),
});

// (a) whole process: `kvplan simulate` reading the trace file, start-up included, five times; the
// rows quote the least user + sys CPU time (the machine's noise only ever adds) and the median.
// `--against DIR` (another checkout with its bundle built) alternates that checkout's bin with
// this one's, run for run, and adds its two rows: builds compared on the same machine at once.
const against = process.argv.includes('--against')
  ? path.resolve(process.argv[process.argv.indexOf('--against') + 1])
  : null;
function wholeProcess(repo: string) {
  const start = performance.now();
  const child = spawnSync(
    '/usr/bin/time',
    [
      '-f',
      '%U %S %M',
      process.execPath,
      path.join(repo, 'cli/bin/kvplan.js'),
      'simulate',
      specFile,
      '--json',
    ],
    { encoding: 'utf8', maxBuffer: 1 << 26 },
  );
  if (child.status !== 0) throw new Error(`kvplan simulate (${repo}) failed: ${child.stderr}`);
  const [userS, sysS, rssKb] = child.stderr.trim().split('\n').pop()!.split(' ').map(Number);
  const simulated = (JSON.parse(child.stdout) as { duration: number }).duration;
  return { wall: (performance.now() - start) / 1000, cpu: userS + sysS, rssKb, simulated };
}
const runs: Array<{ label: string; repo: string; times: Array<ReturnType<typeof wholeProcess>> }> = [
  { label: '', repo: root, times: [] },
  ...(against ? [{ label: ` (${path.basename(against)})`, repo: against, times: [] }] : []),
];
for (let k = 0; k < 5; k++) for (const r of runs) r.times.push(wholeProcess(r.repo));
for (const { label, times } of runs) {
  times.sort((a, b) => a.cpu - b.cpu);
  const peakRssMib = Math.round(Math.max(...times.map((t) => t.rssKb)) / 1024);
  for (const [which, run] of [
    ['least', times[0]],
    ['median', times[2]],
  ] as const)
    rows.push({
      case: `(a) Azure conv x10, whole process${label}, ${which} of 5`,
      requests: ten.n,
      wall_s: +run.wall.toFixed(2),
      cpu_s: +run.cpu.toFixed(2),
      simulated_s: +run.simulated.toFixed(0),
      sim_s_per_cpu_s: Math.round(run.simulated / run.cpu),
      requests_per_wall_s: Math.round(ten.n / run.wall),
      peak_rss_mib: peakRssMib,
    });
}

// (b) one million requests
const specB = parseSimulationSpec(
  `model: meta-llama/Llama-3.1-8B\ngpu: h100-sxm\nworkload:\n  arrival: { process: poisson, rate: 15 }\n  numRequests: 1000000\n  inputTokens: { uniform: [128, 2048] }\n  outputTokens: { uniform: [64, 1024] }\n`,
  { fileName: 'b.yaml', baseDir: tmp },
);
c0 = process.cpuUsage();
t0 = performance.now();
const runB = simulate(specB);
const wallB = (performance.now() - t0) / 1000;
const cpuB = cpu(c0);
rows.push({
  case: '(b) 1M requests Poisson 15/s, in-process',
  requests: specB.workload.n,
  wall_s: +wallB.toFixed(2),
  cpu_s: +cpuB.toFixed(2),
  simulated_s: +runB.result.duration.toFixed(0),
  sim_s_per_cpu_s: Math.round(runB.result.duration / cpuB),
  requests_per_wall_s: Math.round(specB.workload.n / wallB),
  peak_rss_mib: Math.round(process.resourceUsage().maxRSS / 1024),
});

console.table(rows);
const machine = `${os.cpus()[0]?.model ?? 'cpu'} x${os.cpus().length}, ${Math.round(os.totalmem() / 2 ** 30)} GiB, node ${process.version}`;
const load = os.loadavg()[0].toFixed(1);
console.log(`machine: ${machine}; load average during the run ${load}; trace: ${source}`);
console.log(
  `(b) outcome: mean batch ${runB.result.mean_batch_size.toFixed(0)}, preemptions ${runB.result.preemptions}, p99 TTFT ${(runB.result.p99_ttft_ms / 1000).toFixed(1)} s`,
);
fs.mkdirSync(path.join(root, 'bench/results'), { recursive: true });
fs.writeFileSync(
  path.join(root, 'bench/results/sim.json'),
  JSON.stringify({ machine, loadAverage: +load, trace: source, rows }, null, 2) + '\n',
);
fs.rmSync(tmp, { recursive: true, force: true });
