import { Module } from '@nestjs/common';
import { PresetsController } from './presets.controller';

/** Model and GPU presets (read-only), for the deployment form. */
@Module({ controllers: [PresetsController] })
export class PresetsModule {}
