// `npm run bench:api`: p50/p99 latency and errors of GET /projections/:id and POST /projections at
// 100 connections against a local api (own database kvplan_bench, local PostgreSQL and Redis).
// Prints a table and writes bench/results/api.json. BENCH_DURATION_S shortens the 30 s runs.
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
  const api = spawn(process.execPath, ['-r', '@swc-node/register', 'src/main.ts'], {
    cwd: path.join(root, 'apps', 'api'),
    env: {
      ...process.env,
      DATABASE_URL: url,
      REDIS_URL: process.env.REDIS_URL ?? 'redis://127.0.0.1:6379',
      PORT: String(port),
      HOST: '127.0.0.1',
      QUEUE_PREFIX: `kvbench-${process.pid}`,
      STORAGE_DIR: storage,
      LOG_LEVEL: 'error',
      RATE_LIMIT_MAX: '0',
    },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
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
    const request = { workloadProfileId: w.id, deploymentId: d.id };
    const p = await post('/api/v1/projections', request);

    const rows = [];
    const auth = { authorization: headers.authorization };
    const cases: Array<[string, Partial<autocannon.Options>]> = [
      ['GET /api/v1/projections/:id', { method: 'GET', path: `/api/v1/projections/${p.id}`, headers: auth }],
      [
        'POST /api/v1/projections',
        { method: 'POST', path: '/api/v1/projections', body: JSON.stringify(request), headers },
      ],
    ];
    for (const [name, opts] of cases) {
      const { path: route, ...rest } = opts;
      const r = await autocannon({ url: base + route, connections: 100, duration, ...rest, title: name });
      console.log(name, 'status codes:', JSON.stringify(r.statusCodeStats));
      rows.push({
        endpoint: name,
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
      JSON.stringify({ machine, connections: 100, durationS: duration, rows }, null, 2) + '\n',
    );
  } finally {
    api.kill('SIGTERM');
    fs.rmSync(storage, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
