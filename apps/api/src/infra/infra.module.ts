import { Global, Inject, Module, type DynamicModule, type OnApplicationShutdown } from '@nestjs/common';
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
              dataSourceOptions({ url: config.databaseUrl, applicationName: 'kvplan-api', poolSize: 10 }),
            ).initialize(),
        },
        ...REPOSITORIES.map((R) => ({
          provide: R,
          useFactory: (ds: DataSource) => new R(ds),
          inject: [DataSource],
        })),
        {
          provide: Redis,
          // BullMQ needs maxRetriesPerRequest null on blocking connections; the api only produces.
          useFactory: () => new Redis(config.redisUrl, { maxRetriesPerRequest: null, lazyConnect: false }),
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
