import { Module } from '@nestjs/common';
import { TracesController } from './traces.controller';
import { UploadsService } from './uploads.service';

/** Uploads: traces and KV samples, streamed to the storage root. */
@Module({ controllers: [TracesController], providers: [UploadsService] })
export class TracesModule {}
