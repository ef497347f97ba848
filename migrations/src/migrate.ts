// One-shot `migrate` command (npm run migrate; compose's `migrate` service). Apps never migrate at start.
import { migrate } from './database';

async function main(): Promise<void> {
  const url = process.env.DATABASE_URL;
  if (!url) {
    process.stderr.write(
      'migrate: DATABASE_URL is not set (e.g. postgres://postgres@127.0.0.1:5432/kvplan)\n',
    );
    process.exit(2);
  }
  const ran = await migrate(url);
  process.stdout.write(ran.length ? `migrate: ran ${ran.join(', ')}\n` : 'migrate: schema is up to date\n');
}

main().catch((err: unknown) => {
  process.stderr.write(`migrate: failed: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
