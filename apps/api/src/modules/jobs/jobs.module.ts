import { Module } from '@nestjs/common';
import { JobReconciler } from './job-reconciler.service';
import { JobsController, StreamTokenGuard } from './jobs.controller';

/** Job status, progress stream, cancel and retry; the reconciler that re-enqueues runs lost from Redis. */
@Module({
  controllers: [JobsController],
  providers: [StreamTokenGuard, JobReconciler],
})
export class JobsModule {}
