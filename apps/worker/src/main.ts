// The worker's entry point: `npm start -w apps/worker`. No HTTP server; SIGTERM/SIGINT finish
// the running jobs, then exit.
import 'reflect-metadata';
import { NestFactory } from '@nestjs/core';
import { QUEUES } from '@kvplan/contracts';
import { selectSimilarityKernel } from '@kvplan/fusion';
import { PinoNestLogger, checkStorageRoot, createLogger } from '@kvplan/observability';
import { WorkerConfigError, loadWorkerConfig, type WorkerConfig } from './config';
import { StorageCheck } from './storage-check';
import { WorkerModule } from './worker.module';

async function main(): Promise<void> {
  let config: WorkerConfig;
  try {
    config = loadWorkerConfig(process.env);
  } catch (err) {
    if (err instanceof WorkerConfigError) {
      process.stderr.write(`kvplan worker: refusing to start: ${err.message}\n`);
      process.exit(2);
    }
    throw err;
  }
  const [fatal, warnings] = checkStorageRoot(config.storageDir, { create: false });
  if (fatal.length) {
    process.stderr.write(`kvplan worker: refusing to start: ${fatal.join('; ')}\n`);
    process.exit(2);
  }
  // JSON lines (pino); inside a job every line carries the job and the api request that queued it.
  const logger = createLogger({ service: 'worker', level: config.logLevel });
  for (const w of warnings) logger.warn(w);
  const app = await NestFactory.createApplicationContext(WorkerModule.forRoot(config), {
    logger: config.logLevel === 'silent' ? false : new PinoNestLogger(logger),
  });
  app.enableShutdownHooks();
  await app.get(StorageCheck).newestUploadVisible(logger);
  logger.info(
    { queues: config.queues, storageDir: config.storageDir },
    `kvplan worker consuming ${config.queues.join(', ')}`,
  );
  if (config.queues.includes(QUEUES.fusion)) {
    // Which similarity kernel the fusion jobs will get (each job thread selects its own): said
    // at boot, loudly when the fast one is missing.
    const k = await selectSimilarityKernel({
      wanted: config.similarityKernel,
      threads: config.kernelThreads,
    });
    k.kernel.dispose();
    const fields = { similarityKernel: k.kernel.name, kernelThreads: config.kernelThreads };
    if (k.fallback) logger.warn(fields, k.line);
    else logger.info(fields, k.line);
  }
}

main().catch((err: unknown) => {
  process.stderr.write(
    `kvplan worker: failed to start: ${err instanceof Error ? err.message : String(err)}\n`,
  );
  process.exit(1);
});
