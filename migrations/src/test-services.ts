import * as net from 'node:net';

/** host:port of a URL (default port when it names none). */
function endpoint(raw: string, defaultPort: number): { host: string; port: number } {
  const u = new URL(raw);
  return { host: u.hostname || '127.0.0.1', port: Number(u.port) || defaultPort };
}

function answers(host: string, port: number, timeoutMs = 1500): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect({ host, port });
    const done = (ok: boolean) => {
      s.destroy();
      resolve(ok);
    };
    s.setTimeout(timeoutMs, () => done(false));
    s.once('connect', () => done(true));
    s.once('error', () => done(false));
  });
}

/**
 * A vitest globalSetup for the suites that need the shared PostgreSQL and Redis: when one does
 * not answer, the run stops at once with the commands that start it, instead of a wall of
 * connection errors from every test.
 */
export async function requireTestServices(): Promise<void> {
  const pg = endpoint(process.env.KVPLAN_TEST_PG ?? 'postgres://127.0.0.1:5432', 5432);
  const redis = endpoint(process.env.KVPLAN_TEST_REDIS ?? 'redis://127.0.0.1:6379', 6379);
  const [pgUp, redisUp] = await Promise.all([answers(pg.host, pg.port), answers(redis.host, redis.port)]);
  const missing: string[] = [];
  if (!pgUp)
    missing.push(
      `PostgreSQL does not answer on ${pg.host}:${pg.port} (KVPLAN_TEST_PG). Start it:\n` +
        '    pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start\n' +
        '  (not installed: apt-get update && apt-get install -y postgresql; it must trust local connections of the postgres user)',
    );
  if (!redisUp)
    missing.push(
      `Redis does not answer on ${redis.host}:${redis.port} (KVPLAN_TEST_REDIS). Start it:\n` +
        `    redis-server --daemonize yes --bind 127.0.0.1 --port ${redis.port} --save "" --appendonly no\n` +
        '  (not installed: apt-get update && apt-get install -y redis-server)',
    );
  if (missing.length)
    throw new Error(
      `these tests need PostgreSQL and Redis:\n  ${missing.join('\n  ')}\n(or run \`.ci/run\`, which starts both)`,
    );
}
