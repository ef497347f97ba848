import {
  Controller,
  Get,
  Header,
  Headers,
  Inject,
  ServiceUnavailableException,
  UnauthorizedException,
} from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import { Redis } from 'ioredis';
import { DataSource } from 'typeorm';
import { Public } from '../../common/auth';
import { bearerMatches } from '../../common/server-secret';
import type { ApiConfig } from '../../config/config';
import { API_CONFIG } from '../../infra/tokens';
import { MetricsService } from './metrics.service';

/** 'ok' or 'down': the reason stays in the log (it names hosts and ports). */
async function check(fn: () => Promise<unknown>, timeoutMs = 1000): Promise<'ok' | 'down'> {
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      fn(),
      new Promise((_, reject) => {
        timer = setTimeout(() => reject(new Error(`no answer in ${timeoutMs} ms`)), timeoutMs);
      }),
    ]);
    return 'ok';
  } catch {
    return 'down';
  } finally {
    clearTimeout(timer);
  }
}

@ApiExcludeController()
@Controller()
@Public()
export class HealthController {
  constructor(
    private readonly ds: DataSource,
    @Inject(Redis) private readonly redis: Redis,
    private readonly metrics: MetricsService,
    @Inject(API_CONFIG) private readonly config: ApiConfig,
  ) {}

  /** Liveness: the process answers. */
  @Get('health')
  health() {
    return { status: 'ok' };
  }

  /** Readiness: PostgreSQL and Redis answer. */
  @Get('ready')
  async ready() {
    const [database, redis] = await Promise.all([
      check(() => this.ds.query('SELECT 1')),
      check(() => this.redis.ping()),
    ]);
    if (database === 'ok' && redis === 'ok') return { status: 'ok' };
    throw new ServiceUnavailableException({
      statusCode: 503,
      error: 'Service Unavailable',
      message: `not ready: database ${database}, queue ${redis}`,
    });
  }

  /** Prometheus scrape; with METRICS_TOKEN set, only with `Authorization: Bearer <it>`. */
  @Get('metrics')
  @Header('cache-control', 'no-store')
  async scrape(@Headers('authorization') authorization: string | undefined): Promise<string> {
    const token = this.config.metricsToken;
    if (token && !bearerMatches(authorization, token))
      throw new UnauthorizedException('metrics need the METRICS_TOKEN bearer token');
    return this.metrics.scrape();
  }
}
