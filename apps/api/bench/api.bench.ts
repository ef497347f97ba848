// `npm run bench:api`: p50/p99 latency and errors of GET /projections/:id and POST /projections at
// 100 connections against a local api (own database kvplan_bench, local PostgreSQL and Redis).
// The read is of a finished projection (a worker runs it first, then stops), so the response
// carries a real result with its chart data. Prints a table and writes bench/results/api.json.
// BENCH_DURATION_S shortens the 30 s runs; BENCH_CPU_PROF=DIR writes the api's V8 CPU profile there;
// BENCH_ONLY=GET or POST runs one case.
import 'reflect-metadata';
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import autocannon from 'autocannon';
import { DataSource } from 'typeorm';
import { WorkspaceRepository, dataSourceOptions } from '@kvplan/db';
import { migrate, recreateDatabase, testDatabaseUrl } from '@kvplan/migrations';

const root = path.resolve(__dirname, '..', '..', '..');
const duration = Number(process.env.BENCH_DURATION_S ?? 30);
const port = 3555;
const base = `http://127.0.0.1:${port}`;

async function main(): Promise<void> {
  const url = testDatabaseUrl('kvplan_bench');
  await recreateDatabase(url);
  await migrate(url);
  const ds = await new DataSource(dataSourceOptions({ url, poolSize: 1 })).initialize();
  const { secret } = await new WorkspaceRepository(ds).createWorkspaceWithAdminKey('bench');
  await ds.destroy();
  const storage = fs.mkdtempSync(path.join(os.tmpdir(), 'kvplan-bench-'));
  const env = {
    ...process.env,
    DATABASE_URL: url,
    REDIS_URL: process.env.REDIS_URL ?? 'redis://127.0.0.1:6379',
    QUEUE_PREFIX: `kvbench-${process.pid}`,
    STORAGE_DIR: storage,
    LOG_LEVEL: 'error',
  };
  const prof = process.env.BENCH_CPU_PROF ? path.resolve(process.env.BENCH_CPU_PROF) : null;
  const api = spawn(
    process.execPath,
    [...(prof ? ['--cpu-prof', `--cpu-prof-dir=${prof}`] : []), '-r', '@swc-node/register', 'src/main.ts'],
    {
      cwd: path.join(root, 'apps', 'api'),
      env: { ...env, PORT: String(port), HOST: '127.0.0.1', RATE_LIMIT_MAX: '0' },
      stdio: ['ignore', 'ignore', 'inherit'],
    },
  );
  let worker: ReturnType<typeof spawn> | null = spawn(
    process.execPath,
    ['-r', '@swc-node/register', 'src/main.ts'],
    { cwd: path.join(root, 'apps', 'worker'), env, stdio: ['ignore', 'ignore', 'inherit'] },
  );
  try {
    for (let i = 0; ; i++) {
      const ok = await fetch(`${base}/ready`).then(
        (r) => r.ok,
        () => false,
      );
      if (ok) break;
      if (i > 300) throw new Error('api did not become ready');
      await new Promise((r) => setTimeout(r, 200));
    }
    const headers = { authorization: `Bearer ${secret}`, 'content-type': 'application/json' };
    const post = async (p: string, body: unknown) =>
      (await (await fetch(base + p, { method: 'POST', headers, body: JSON.stringify(body) })).json()) as {
        id: string;
      };
    const d = await post('/api/v1/deployments', {
      name: 'b',
      model: 'meta-llama/Llama-3.1-8B',
      gpu: 'h100-sxm',
    });
    const w = await post('/api/v1/workload-profiles', {
      name: 'b',
      workload: {
        arrival: { process: 'poisson', rate: 5 },
        numRequests: 100,
        inputTokens: { fixed: 100 },
        outputTokens: { fixed: 10 },
      },
    });
    const f = await post('/api/v1/fusion-configs', { name: 'b', mode: 'bff', thresholds: [0.7] });
    const request = { workloadProfileId: w.id, deploymentId: d.id };
    const p = await post('/api/v1/projections', { ...request, fusionConfigId: f.id });
    // Let the worker finish it (the read then returns both runs and the chart data), then stop it.
    let bytes = 0;
    for (let i = 0; ; i++) {
      const r = await fetch(`${base}/api/v1/projections/${p.id}`, { headers });
      const text = await r.text();
      if ((JSON.parse(text) as { status: string }).status === 'succeeded') {
        bytes = Buffer.byteLength(text);
        break;
      }
      if (i > 600) throw new Error('the projection did not finish');
      await new Promise((r) => setTimeout(r, 200));
    }
    worker.kill('SIGTERM');
    await new Promise((r) => worker!.once('exit', r));
    worker = null;
    console.log(`GET /api/v1/projections/:id returns ${bytes} bytes`);

    const rows = [];
    const loadBefore = os.loadavg().map((x) => Number(x.toFixed(2)));
    const auth = { authorization: headers.authorization };
    const cases: Array<[string, Partial<autocannon.Options>]> = [
      ['GET /api/v1/projections/:id', { method: 'GET', path: `/api/v1/projections/${p.id}`, headers: auth }],
      [
        'POST /api/v1/projections',
        { method: 'POST', path: '/api/v1/projections', body: JSON.stringify(request), headers },
      ],
    ];
    const only = process.env.BENCH_ONLY; // e.g. GET: one case only (for profiling)
    for (const [name, opts] of cases.filter(([n]) => !only || n.startsWith(only))) {
      const { path: route, ...rest } = opts;
      const r = await autocannon({ url: base + route, connections: 100, duration, ...rest, title: name });
      console.log(name, 'status codes:', JSON.stringify(r.statusCodeStats));
      rows.push({
        endpoint: name,
        ...(name.startsWith('GET') ? { responseBytes: bytes } : {}),
        requests: r.requests.total,
        rps: Math.round(r.requests.average),
        p50_ms: r.latency.p50,
        p99_ms: r.latency.p99,
        errors: r.errors + r.timeouts + r.non2xx,
      });
    }
    const machine = `${os.cpus().length} x ${os.cpus()[0]?.model ?? 'cpu'}, node ${process.version}`;
    console.log(`\n100 connections, ${duration} s each, ${machine}\n`);
    console.log('| endpoint | requests | req/s | p50 ms | p99 ms | errors |\n|---|---|---|---|---|---|');
    for (const r of rows)
      console.log(`| ${r.endpoint} | ${r.requests} | ${r.rps} | ${r.p50_ms} | ${r.p99_ms} | ${r.errors} |`);
    const out = path.join(root, 'bench', 'results', 'api.json');
    fs.mkdirSync(path.dirname(out), { recursive: true });
    fs.writeFileSync(
      out,
      JSON.stringify(
        {
          machine,
          connections: 100,
          durationS: duration,
          // 1/5/15-minute load averages before and after: the machine is shared, so they say how busy it was.
          loadAverage: { before: loadBefore, after: os.loadavg().map((x) => Number(x.toFixed(2))) },
          readCacheTtlMs: Number(process.env.READ_CACHE_TTL_MS ?? 5000),
          rows,
        },
        null,
        2,
      ) + '\n',
    );
  } finally {
    worker?.kill('SIGTERM');
    api.kill('SIGTERM');
    await new Promise((r) => api.once('exit', r));
    fs.rmSync(storage, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
