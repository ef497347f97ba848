import { Controller, Get, Header, Inject, ServiceUnavailableException } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import { Redis } from 'ioredis';
import { DataSource } from 'typeorm';
import { Public } from '../../common/auth';
import { MetricsService } from './metrics.service';

async function check(fn: () => Promise<unknown>, timeoutMs = 2000): Promise<string> {
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      fn(),
      new Promise((_, reject) => {
        timer = setTimeout(() => reject(new Error(`no answer in ${timeoutMs} ms`)), timeoutMs);
      }),
    ]);
    return 'ok';
  } catch (err) {
    return `down: ${(err as Error).message}`;
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
    const body = { status: database === 'ok' && redis === 'ok' ? 'ok' : 'unavailable', database, redis };
    if (body.status !== 'ok')
      throw new ServiceUnavailableException({
        statusCode: 503,
        error: 'Service Unavailable',
        message: JSON.stringify(body),
      });
    return body;
  }

  @Get('metrics')
  @Header('cache-control', 'no-store')
  async scrape(): Promise<string> {
    return this.metrics.scrape();
  }
}
