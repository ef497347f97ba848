// One-shot `migrate` command (npm run migrate; compose's `migrate` service). Apps never migrate at start.
import { ConfigError, EnvReader } from '@kvplan/observability';
import { migrate } from './database';

async function main(): Promise<void> {
  const env = new EnvReader(process.env);
  const url = env.url('DATABASE_URL', ['postgres:', 'postgresql:']);
  try {
    env.done();
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    process.stderr.write(`migrate: refusing to start: ${err.message}\n`);
    process.exit(2);
  }
  const ran = await migrate(url);
  process.stdout.write(ran.length ? `migrate: ran ${ran.join(', ')}\n` : 'migrate: schema is up to date\n');
}

main().catch((err: unknown) => {
  process.stderr.write(`migrate: failed: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
