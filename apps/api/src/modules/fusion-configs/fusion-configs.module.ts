import { Module } from '@nestjs/common';
import { SpecsModule } from '../specs/specs.module';
import { FusionConfigsController } from './fusion-configs.controller';

/** Fusion configurations: mode, thresholds, batch sizes or window, scope. */
@Module({ imports: [SpecsModule], controllers: [FusionConfigsController] })
export class FusionConfigsModule {}
