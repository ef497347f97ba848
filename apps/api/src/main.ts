// The api's entry point: `npm start -w apps/api` (runs the TypeScript through SWC; see README.md).
import { checkStorageRoot, createLogger } from '@kvplan/observability';
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
  const [fatal] = checkStorageRoot(config.storageDir, { create: true });
  if (fatal.length) {
    process.stderr.write(`kvplan api: refusing to start: ${fatal.join('; ')}\n`);
    process.exit(2);
  }
  const logger = createLogger({ service: 'api', level: config.logLevel });
  const app = await createApp(config, logger);
  await app.listen({ port: config.port, host: config.host });
  logger.info(
    { host: config.host, port: config.port, storageDir: config.storageDir },
    `kvplan api listening on http://${config.host}:${config.port} (dashboard at /, docs at /docs)`,
  );
}

main().catch((err: unknown) => {
  process.stderr.write(`kvplan api: failed to start: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
