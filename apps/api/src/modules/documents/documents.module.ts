import { Module } from '@nestjs/common';
import { CalibrationsController, ModelConfigsController } from './documents.controller';
import { DocumentsService } from './documents.service';

/** Uploaded documents a deployment names by id: model configs and calibration profiles. */
@Module({
  controllers: [ModelConfigsController, CalibrationsController],
  providers: [DocumentsService],
})
export class DocumentsModule {}
