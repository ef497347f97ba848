import { Module } from '@nestjs/common';
import { SpecLoader } from './spec-loader.service';
import { SpecsService } from './specs.service';

/**
 * The domain checks of the named spec documents and the loader of the rows a projection,
 * capacity plan or fusion profile names: shared by those features' modules.
 */
@Module({ providers: [SpecsService, SpecLoader], exports: [SpecsService, SpecLoader] })
export class SpecsModule {}
