// The api's entry point: `npm start -w apps/api` (runs the TypeScript through SWC; see README.md).
import { ConfigError, loadApiConfig } from './config/config';
import { createApp } from './app.factory';

async function main(): Promise<void> {
  let config;
  try {
    config = loadApiConfig(process.env);
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`kvplan api: refusing to start: ${err.message}\n`);
      process.exit(2);
    }
    throw err;
  }
  const app = await createApp(config);
  await app.listen({ port: config.port, host: config.host });
  process.stdout.write(`kvplan api listening on http://${config.host}:${config.port} (docs at /docs)\n`);
}

main().catch((err: unknown) => {
  process.stderr.write(`kvplan api: failed to start: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
