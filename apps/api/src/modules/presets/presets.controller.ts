import { Controller, Get, Query } from '@nestjs/common';
import { ApiBearerAuth, ApiTags } from '@nestjs/swagger';
import { listGpuPresets, listModelPresets } from '@kvplan/sim';
import { GpusQueryDto, ModelsQueryDto, gpuPresetBody, modelPresetBody, presetPage } from './presets.dto';

/**
 * The model and GPU presets a deployment may name (libs/sim's tables, read-only): what the
 * dashboard's deployment form offers. Any role may read them.
 */
@ApiTags('presets')
@ApiBearerAuth()
@Controller()
export class PresetsController {
  @Get('models')
  models(@Query() q: ModelsQueryDto) {
    return presetPage(listModelPresets(), q, modelPresetBody);
  }

  @Get('gpus')
  gpus(@Query() q: GpusQueryDto) {
    const min = q.minMemoryGiB ?? 0;
    return presetPage(
      listGpuPresets().filter((g) => g.memoryGiB >= min),
      q,
      gpuPresetBody,
    );
  }
}
