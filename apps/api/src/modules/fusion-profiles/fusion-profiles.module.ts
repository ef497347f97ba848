import { Module } from '@nestjs/common';
import { SpecsModule } from '../specs/specs.module';
import { FusionProfilesController } from './fusion-profiles.controller';

/** Fusion profiles measured by a worker from a workload's KV (model, upload or synthetic). */
@Module({ imports: [SpecsModule], controllers: [FusionProfilesController] })
export class FusionProfilesModule {}
