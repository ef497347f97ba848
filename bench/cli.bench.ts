/**
 * npm run bench:cli — start-up of the `kvplan` bin (issue: CLI start-up). Times whole processes,
 * interleaved so that drifts in the machine's load hit every command alike, and reports medians:
 *   node -e ''                          Node's own start-up, the floor
 *   node cli/bin/kvplan.js gpus         the prebuilt bundle (target: under 0.3 s)
 *   KVPLAN_FROM_SOURCES=1 ... gpus      the TypeScript sources through tsx, as before the bundle
 *   npx kvplan gpus                     what npx adds on top
 * Prints a table and writes bench/results/cli.json.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

const root = path.resolve(__dirname, '..');
const runs = Number(process.env.RUNS ?? 15);
const bin = path.join(root, 'cli', 'bin', 'kvplan.js');

const build = spawnSync(process.execPath, [path.join(root, 'cli', 'scripts', 'bundle.mjs')], {
  encoding: 'utf8',
});
if (build.status !== 0) throw new Error(`bundle failed: ${build.stderr}`);

const cases: Array<{ name: string; cmd: string; args: string[]; env?: Record<string, string> }> = [
  { name: "node -e ''", cmd: process.execPath, args: ['-e', ''] },
  { name: 'node cli/bin/kvplan.js gpus (bundle)', cmd: process.execPath, args: [bin, 'gpus'] },
  {
    name: 'node cli/bin/kvplan.js gpus (sources, tsx)',
    cmd: process.execPath,
    args: [bin, 'gpus'],
    env: { KVPLAN_FROM_SOURCES: '1' },
  },
  { name: 'npx kvplan gpus (bundle)', cmd: 'npx', args: ['--no-install', 'kvplan', 'gpus'] },
];

const times = cases.map(() => [] as number[]);
for (let k = 0; k < runs; k++)
  cases.forEach((c, i) => {
    const t0 = process.hrtime.bigint();
    const r = spawnSync(c.cmd, c.args, { cwd: root, encoding: 'utf8', env: { ...process.env, ...c.env } });
    const s = Number(process.hrtime.bigint() - t0) / 1e9;
    if (r.status !== 0) throw new Error(`${c.name} failed: ${r.stderr}`);
    if (!c.env && c.args.includes('gpus') && r.stderr.includes('running from the TypeScript sources'))
      throw new Error(`${c.name} did not run the bundle: ${r.stderr}`);
    times[i].push(s);
  });

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
const rows = cases.map((c, i) => ({
  case: c.name,
  runs,
  medianS: +median(times[i]).toFixed(3),
  minS: +Math.min(...times[i]).toFixed(3),
  maxS: +Math.max(...times[i]).toFixed(3),
}));
const machine = `${os.cpus()[0]?.model ?? 'cpu'} x${os.cpus().length}, ${Math.round(os.totalmem() / 2 ** 30)} GiB, node ${process.version}`;
const load = os.loadavg().map((x) => x.toFixed(1));
console.log(`machine: ${machine}; load average ${load.join(' / ')} at the end`);
console.log('case                                         median s   min s   max s');
for (const r of rows)
  console.log(
    `${r.case.padEnd(44)} ${r.medianS.toFixed(3).padStart(8)} ${r.minS.toFixed(3).padStart(7)} ${r.maxS.toFixed(3).padStart(7)}`,
  );
fs.mkdirSync(path.join(root, 'bench', 'results'), { recursive: true });
fs.writeFileSync(
  path.join(root, 'bench', 'results', 'cli.json'),
  JSON.stringify({ machine, loadAverage: load.map(Number), rows }, null, 2) + '\n',
);
