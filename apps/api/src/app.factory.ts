import 'reflect-metadata';
import { RequestMethod } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';
import { DocumentBuilder, SwaggerModule } from '@nestjs/swagger';
import type { Logger } from 'pino';
import { PinoNestLogger, createLogger, requestIdFrom, runWithContext } from '@kvplan/observability';
import type { ApiConfig } from './config/config';
import { AppModule } from './app.module';
import { createValidationPipe } from './common/validation';
import { guardJsonInput } from './common/json-body.hooks';
import { MetricsService } from './modules/health/metrics.service';
import { STREAM_CONTENT_TYPES } from './modules/traces/uploads.service';
import { dropCachedReadsOnWrites, serveCachedProjectionReads } from './modules/projections/cached-read.hook';
import { serveDashboard } from './modules/dashboard/dashboard.static';

/** Probes, scrapes and the dashboard's static files: logged at debug level only. */
const QUIET_ROUTES = new Set(['/health', '/ready', '/metrics', '/', '/app.js', '/app.css']);

/** Builds the api (not listening yet): used by main.ts and by the tests. */
export async function createApp(
  config: ApiConfig,
  logger: Logger = createLogger({ service: 'api', level: config.logLevel }),
): Promise<NestFastifyApplication> {
  const adapter = new FastifyAdapter({
    bodyLimit: config.bodyLimitBytes,
    trustProxy: true,
    // The caller's X-Request-Id when it is a sane token, else a new UUID: logged with every line
    // of the request, returned in the response, and carried into the payloads of queued jobs.
    genReqId: (req: { headers: Record<string, string | string[] | undefined> }) =>
      requestIdFrom(req.headers['x-request-id']),
  });
  const nestLogger = new PinoNestLogger(logger);
  const app = await NestFactory.create<NestFastifyApplication>(AppModule.forRoot(config), adapter, {
    logger: config.logLevel === 'silent' ? false : nestLogger,
    // JSON bodies are parsed by guardJsonInput (limits before any recursive walk), not Nest's parser.
    bodyParser: false,
  });
  const fastify = app.getHttpAdapter().getInstance();

  // Everything that runs for a request (guards, handlers, the queue producer) sees its id.
  fastify.addHook('onRequest', (req, reply, done) => {
    void reply.header('x-request-id', req.id);
    runWithContext({ requestId: req.id }, done);
  });
  serveCachedProjectionReads(app);
  dropCachedReadsOnWrites(app);
  // One structured line per request (never the query string: it may carry a stream token).
  fastify.addHook('onResponse', async (req, reply) => {
    const fields = {
      requestId: req.id,
      method: req.method,
      route: req.routeOptions?.url ?? 'unmatched',
      path: req.url.split('?')[0],
      status: reply.statusCode,
      durationMs: Math.round(reply.elapsedTime * 10) / 10,
    };
    if (reply.statusCode >= 500) logger.error(fields, 'request failed');
    else if (QUIET_ROUTES.has(fields.route)) logger.debug(fields, 'request');
    else logger.info(fields, 'request');
  });

  // JSON bodies: parsed, then checked for depth, key count and unstorable text before Nest's
  // pipeline walks them; query strings and path parameters for unstorable text.
  guardJsonInput(fastify, config.bodyLimitBytes);

  // Uploads arrive as a raw stream (CSV, JSONL, safetensors): the handler streams them to disk,
  // counting bytes against UPLOAD_LIMIT_BYTES, instead of buffering them under the JSON limit.
  fastify.addContentTypeParser(STREAM_CONTENT_TYPES, (_req, payload, done) => done(null, payload));

  const metrics = app.get(MetricsService);
  fastify.addHook('onResponse', async (req, reply) => {
    const route = req.routeOptions?.url ?? 'unmatched';
    const status = String(reply.statusCode);
    metrics.httpDuration.observe({ method: req.method, route, status }, reply.elapsedTime / 1000);
    if (reply.statusCode >= 400) metrics.httpErrors.inc({ status });
  });

  app.setGlobalPrefix('api/v1', {
    exclude: [
      { path: 'health', method: RequestMethod.GET },
      { path: 'ready', method: RequestMethod.GET },
      { path: 'metrics', method: RequestMethod.GET },
    ],
  });
  app.useGlobalPipes(createValidationPipe());
  app.enableShutdownHooks();
  await serveDashboard(app, logger);

  if (config.docs) {
    const doc = SwaggerModule.createDocument(
      app,
      new DocumentBuilder()
        .setTitle('kvplan')
        .setDescription('Capacity planning for LLM serving with KV-cache fusion')
        .setVersion('1')
        .addBearerAuth({ type: 'http', scheme: 'bearer', description: 'API key' })
        .build(),
    );
    SwaggerModule.setup('docs', app, doc, { jsonDocumentUrl: 'docs/openapi.json' });
  }
  return app;
}
