import { Inject, Injectable } from '@nestjs/common';
import { JOB_NAMES, QUEUES } from '@kvplan/contracts';
import type { WorkerConfig } from '../config';
import { CapacityPlanHandler, CapacityPointHandler } from '../handlers/capacity.handlers';
import { FusionProfileHandler } from '../handlers/fusion-profile.handler';
import { SimulateProjectionHandler } from '../handlers/simulate-projection.handler';
import { WORKER_CONFIG } from '../tokens';
import { QueueProcessor } from './queue-worker';

@Injectable()
export class SimulateProcessor extends QueueProcessor {
  constructor(
    @Inject(WORKER_CONFIG) config: WorkerConfig,
    projection: SimulateProjectionHandler,
    point: CapacityPointHandler,
  ) {
    super(
      QUEUES.simulate,
      config,
      {
        [JOB_NAMES.simulateProjection]: (job) => projection.handle(job),
        [JOB_NAMES.simulateCapacityPoint]: (job) => point.handle(job),
      },
      config.simulateConcurrency,
    );
  }
}

@Injectable()
export class CapacityProcessor extends QueueProcessor {
  constructor(@Inject(WORKER_CONFIG) config: WorkerConfig, plan: CapacityPlanHandler) {
    super(QUEUES.capacity, config, { [JOB_NAMES.capacityPlan]: (job) => plan.handle(job) }, 4);
  }
}

@Injectable()
export class FusionProcessor extends QueueProcessor {
  constructor(@Inject(WORKER_CONFIG) config: WorkerConfig, fusion: FusionProfileHandler) {
    super(QUEUES.fusion, config, { [JOB_NAMES.fusionProfile]: (job) => fusion.handle(job) }, 1);
  }
}
