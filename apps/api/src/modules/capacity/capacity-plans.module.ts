import { Module } from '@nestjs/common';
import { SpecsModule } from '../specs/specs.module';
import { CapacityPlansController } from './capacity-plans.controller';

/** Capacity plans: sweeps fanned out as BullMQ flows of simulations. */
@Module({ imports: [SpecsModule], controllers: [CapacityPlansController] })
export class CapacityPlansModule {}
