import 'reflect-metadata';
import { RequestMethod, type LogLevel } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';
import { DocumentBuilder, SwaggerModule } from '@nestjs/swagger';
import type { ApiConfig } from './config/config';
import { AppModule } from './app.module';
import { createValidationPipe } from './common/validation';
import { MetricsService } from './modules/health/metrics.service';
import { STREAM_CONTENT_TYPES } from './modules/traces/uploads.service';

/** Builds the api (not listening yet): used by main.ts and by the tests. */
export async function createApp(config: ApiConfig): Promise<NestFastifyApplication> {
  const adapter = new FastifyAdapter({ bodyLimit: config.bodyLimitBytes, trustProxy: true });
  const app = await NestFactory.create<NestFastifyApplication>(AppModule.forRoot(config), adapter, {
    logger: nestLogLevels(config.logLevel),
  });
  const fastify = app.getHttpAdapter().getInstance();

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

function nestLogLevels(level: ApiConfig['logLevel']): LogLevel[] | false {
  const order: Array<[ApiConfig['logLevel'], LogLevel]> = [
    ['fatal', 'fatal'],
    ['error', 'error'],
    ['warn', 'warn'],
    ['info', 'log'],
    ['debug', 'debug'],
    ['trace', 'verbose'],
  ];
  if (level === 'silent') return false;
  const upTo = order.findIndex(([l]) => l === level);
  return order.slice(0, upTo + 1).map(([, n]) => n);
}
