import { Module } from '@nestjs/common';
import { SpecsModule } from '../specs/specs.module';
import { DeploymentsController } from './deployments.controller';

/** Deployments: model, GPUs, parallelism and engine settings (presets, inline objects or uploaded documents by id). */
@Module({ imports: [SpecsModule], controllers: [DeploymentsController] })
export class DeploymentsModule {}
