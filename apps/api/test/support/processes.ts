// Processes the end-to-end tests start: the api and the worker, and throwaway Redis and
// PostgreSQL servers of their own (never the shared ones).
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';

export const repoRoot = path.resolve(__dirname, '..', '..', '..', '..');

export function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const srv = net.createServer().listen(0, '127.0.0.1', () => {
      const port = (srv.address() as net.AddressInfo).port;
      srv.close(() => resolve(port));
    });
  });
}

/** `fn()` once it gives something other than undefined (errors count as undefined). */
export async function until<T>(
  what: string,
  fn: () => Promise<T | undefined>,
  timeoutMs = 60_000,
): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn().catch(() => undefined);
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 150));
  }
}

/** `npm start` of apps/api or apps/worker with `env` over this process's environment. */
export function startApp(app: 'api' | 'worker', env: Record<string, string>): ChildProcess {
  const child = spawn(process.execPath, ['-r', '@swc-node/register', 'src/main.ts'], {
    cwd: path.join(repoRoot, 'apps', app),
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stderr?.on('data', (d: Buffer) => process.stderr.write(`[${app}] ${d}`));
  child.stdout?.resume();
  return child;
}

/** Stops a child process and waits until it exited. */
export function stop(child: ChildProcess | undefined, signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
  if (!child || child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    child.once('exit', () => resolve());
    child.kill(signal);
  });
}

/** A redis-server of the test's own on `port`, keeping nothing on disk. */
export async function startRedis(port: number): Promise<ChildProcess> {
  const child = spawn(
    'redis-server',
    ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
    {
      stdio: 'ignore',
    },
  );
  await until(`redis on ${port}`, () => tcpOpen(port), 10_000);
  return child;
}

function tcpOpen(port: number): Promise<true | undefined> {
  return new Promise((resolve) => {
    const s = net.connect(port, '127.0.0.1');
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(undefined));
  });
}

/** The PostgreSQL binaries (Debian keeps them outside PATH), or null when none is installed. */
function pgBin(): string | null {
  const root = '/usr/lib/postgresql';
  if (!fs.existsSync(root)) return null;
  const versions = fs.readdirSync(root).sort((a, b) => Number(b) - Number(a));
  for (const v of versions)
    if (fs.existsSync(path.join(root, v, 'bin', 'pg_ctl'))) return path.join(root, v, 'bin');
  return null;
}

/**
 * A PostgreSQL cluster of the test's own (initdb + pg_ctl, trust auth on 127.0.0.1:`port`), run as
 * the `postgres` user when this process is root (PostgreSQL refuses to run as root).
 */
export class TestPostgres {
  readonly url: string;
  private constructor(
    private readonly bin: string,
    private readonly dir: string,
    readonly port: number,
  ) {
    this.url = `postgres://postgres@127.0.0.1:${port}/kvplan`;
  }

  static available(): boolean {
    return pgBin() !== null;
  }

  static async create(port: number): Promise<TestPostgres> {
    const bin = pgBin();
    if (!bin) throw new Error('no PostgreSQL binaries under /usr/lib/postgresql');
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kvplan-pg-'));
    fs.chmodSync(dir, 0o777);
    const pg = new TestPostgres(bin, path.join(dir, 'data'), port);
    pg.run('initdb', ['-D', pg.dir, '-U', 'postgres', '--auth=trust', '--no-sync', '-E', 'UTF8']);
    await pg.start();
    pg.run('createdb', ['-h', '127.0.0.1', '-p', String(port), '-U', 'postgres', 'kvplan']);
    return pg;
  }

  private run(tool: string, args: string[]): void {
    const cmd = path.join(this.bin, tool);
    const asRoot = process.getuid?.() === 0;
    execFileSync(asRoot ? 'runuser' : cmd, asRoot ? ['-u', 'postgres', '--', cmd, ...args] : args, {
      stdio: 'ignore',
      cwd: os.tmpdir(),
    });
  }

  async start(): Promise<void> {
    const opts = `-p ${this.port} -c listen_addresses=127.0.0.1 -c unix_socket_directories=${path.dirname(this.dir)} -c fsync=off`;
    this.run('pg_ctl', [
      '-D',
      this.dir,
      '-o',
      opts,
      '-l',
      path.join(path.dirname(this.dir), 'log'),
      '-w',
      'start',
    ]);
  }

  async stop(): Promise<void> {
    this.run('pg_ctl', ['-D', this.dir, '-m', 'fast', '-w', 'stop']);
  }

  async destroy(): Promise<void> {
    await this.stop().catch(() => undefined);
    fs.rmSync(path.dirname(this.dir), { recursive: true, force: true });
  }
}
