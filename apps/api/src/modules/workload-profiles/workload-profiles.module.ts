import { Module } from '@nestjs/common';
import { SpecsModule } from '../specs/specs.module';
import { WorkloadProfilesController } from './workload-profiles.controller';

/** Workload profiles: the traffic of a projection (a generator, or an uploaded trace by id). */
@Module({ imports: [SpecsModule], controllers: [WorkloadProfilesController] })
export class WorkloadProfilesModule {}
