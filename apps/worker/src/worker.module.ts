import * as path from 'node:path';
import { Inject, Module, type DynamicModule, type OnApplicationShutdown } from '@nestjs/common';
import { DataSource } from 'typeorm';
import {
  CapacityPlanRepository,
  DeploymentDocsRepository,
  DeploymentRepository,
  FusionConfigRepository,
  FusionProfileRepository,
  JobRepository,
  KvSampleRepository,
  ProjectionRepository,
  RetentionRepository,
  TraceRepository,
  WorkloadProfileRepository,
  dataSourceOptions,
} from '@kvplan/db';
import type { WorkerConfig } from './config';
import { CapacityPlanHandler, CapacityPointHandler } from './handlers/capacity.handlers';
import { FusionProfileHandler } from './handlers/fusion-profile.handler';
import { FusionRunner, ThreadFusionRunner } from './fusion/fusion-runner';
import { RetentionService } from './retention/retention.service';
import { SimulateProjectionHandler } from './handlers/simulate-projection.handler';
import { HeartbeatService } from './processors/heartbeat.service';
import { CapacityProcessor, FusionProcessor, SimulateProcessor } from './processors/processors';
import { SimRunner, ThreadSimRunner } from './sim/sim-runner';
import { StorageCheck } from './storage-check';
import { WORKER_CONFIG } from './tokens';

const REPOSITORIES = [
  CapacityPlanRepository,
  DeploymentDocsRepository,
  DeploymentRepository,
  FusionConfigRepository,
  FusionProfileRepository,
  JobRepository,
  KvSampleRepository,
  ProjectionRepository,
  RetentionRepository,
  TraceRepository,
  WorkloadProfileRepository,
];

class DataSourceCloser implements OnApplicationShutdown {
  constructor(@Inject(DataSource) private readonly ds: DataSource) {}
  async onApplicationShutdown(): Promise<void> {
    if (this.ds.isInitialized) await this.ds.destroy();
  }
}

/** The worker: the same libs as the api, a second entry point with no HTTP server. */
@Module({})
export class WorkerModule {
  static forRoot(config: WorkerConfig): DynamicModule {
    return {
      module: WorkerModule,
      providers: [
        { provide: WORKER_CONFIG, useValue: config },
        {
          provide: DataSource,
          useFactory: () =>
            new DataSource(
              dataSourceOptions({ url: config.databaseUrl, applicationName: 'kvplan-worker', poolSize: 5 }),
            ).initialize(),
        },
        ...REPOSITORIES.map((R) => ({
          provide: R,
          useFactory: (ds: DataSource) => new R(ds),
          inject: [DataSource],
        })),
        {
          provide: SimRunner,
          useValue: new ThreadSimRunner(path.resolve(config.storageDir), {
            maxEvents: config.simMaxEvents,
            maxWallMs: config.simMaxWallMs,
          }),
        },
        { provide: FusionRunner, useValue: new ThreadFusionRunner() },
        RetentionService,
        SimulateProjectionHandler,
        CapacityPointHandler,
        CapacityPlanHandler,
        FusionProfileHandler,
        SimulateProcessor,
        CapacityProcessor,
        FusionProcessor,
        HeartbeatService,
        StorageCheck,
        DataSourceCloser,
      ],
    };
  }
}
