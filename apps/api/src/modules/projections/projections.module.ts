import { Module } from '@nestjs/common';
import { SpecsModule } from '../specs/specs.module';
import { ProjectionsController } from './projections.controller';
import { ProjectionReadCache } from './read-cache';

/** Projections: a deployment under a workload (with or without fusion), simulated by a worker. */
@Module({
  imports: [SpecsModule],
  controllers: [ProjectionsController],
  providers: [ProjectionReadCache],
  exports: [ProjectionReadCache],
})
export class ProjectionsModule {}
