import {
  Global,
  Inject,
  Logger,
  Module,
  type DynamicModule,
  type OnApplicationShutdown,
} from '@nestjs/common';
import { Redis } from 'ioredis';
import { DataSource } from 'typeorm';
import {
  CalibrationRepository,
  CapacityPlanRepository,
  DashboardRepository,
  DeploymentDocsRepository,
  DeploymentRepository,
  FusionConfigRepository,
  FusionProfileRepository,
  IdempotencyRepository,
  JobRepository,
  KvSampleRepository,
  ModelConfigRepository,
  ProjectionRepository,
  TraceRepository,
  WorkloadProfileRepository,
  WorkspaceRepository,
  dataSourceOptions,
} from '@kvplan/db';
import type { ApiConfig } from '../config/config';
import { JobQueues } from './job-queues';
import { API_CONFIG } from './tokens';

const REPOSITORIES = [
  CalibrationRepository,
  CapacityPlanRepository,
  DashboardRepository,
  DeploymentDocsRepository,
  DeploymentRepository,
  FusionConfigRepository,
  FusionProfileRepository,
  IdempotencyRepository,
  JobRepository,
  KvSampleRepository,
  ModelConfigRepository,
  ProjectionRepository,
  TraceRepository,
  WorkloadProfileRepository,
  WorkspaceRepository,
];

class InfraLifecycle implements OnApplicationShutdown {
  constructor(
    @Inject(DataSource) private readonly ds: DataSource,
    @Inject(Redis) private readonly redis: Redis,
    @Inject(JobQueues) private readonly queues: JobQueues,
  ) {}
  async onApplicationShutdown(): Promise<void> {
    await this.queues.close();
    await this.redis.quit().catch(() => undefined);
    if (this.ds.isInitialized) await this.ds.destroy();
  }
}

/** Config, database (DataSource + repositories), Redis and the queue producers, for every module. */
@Global()
@Module({})
export class InfraModule {
  static forRoot(config: ApiConfig): DynamicModule {
    return {
      module: InfraModule,
      providers: [
        { provide: API_CONFIG, useValue: config },
        {
          provide: DataSource,
          useFactory: async () =>
            new DataSource(
              dataSourceOptions({
                url: config.databaseUrl,
                applicationName: 'kvplan-api',
                poolSize: 10,
                // A stopped database refuses at once (503); this bounds a hung one. It also bounds
                // the wait for a free pool client, so it stays well above a loaded api's waits.
                connectTimeoutMs: 3000,
              }),
            ).initialize(),
        },
        ...REPOSITORIES.map((R) => ({
          provide: R,
          useFactory: (ds: DataSource) => new R(ds),
          inject: [DataSource],
        })),
        {
          provide: Redis,
          // The api only produces (no blocking commands), so its commands fail fast while Redis is
          // away instead of waiting for it: no offline queue (a command sent during an outage is
          // never run after the client got its 503), and a timeout on each command. The client
          // reconnects by itself; the service recovers without a restart.
          useFactory: () => {
            const redis = new Redis(config.redisUrl, {
              maxRetriesPerRequest: 1,
              enableOfflineQueue: false,
              commandTimeout: 1500,
              connectTimeout: 2000,
              lazyConnect: false,
            });
            // One line per outage (requests meanwhile answer 503), not one per reconnect attempt.
            const logger = new Logger('redis');
            let down = false;
            redis.on('error', (err: Error) => {
              if (!down) logger.warn(`unavailable: ${err.message}`);
              down = true;
            });
            redis.on('ready', () => {
              if (down) logger.log('available again');
              down = false;
            });
            return redis;
          },
        },
        {
          provide: JobQueues,
          useFactory: (redis: Redis) => new JobQueues(redis, config.queuePrefix),
          inject: [Redis],
        },
        InfraLifecycle,
      ],
      exports: [API_CONFIG, DataSource, Redis, JobQueues, ...REPOSITORIES],
    };
  }
}
