import { Body, Controller, Delete, Get, HttpCode, Param, Post, Query } from '@nestjs/common';
import { ApiBearerAuth, ApiTags } from '@nestjs/swagger';
import { CalibrationRepository, ModelConfigRepository } from '@kvplan/db';
import { Auth, RequireRole, type AuthContext } from '../../common/auth';
import { NamedPageQueryDto, namedPage } from '../../common/paging.dto';
import { UUID_PIPE } from '../../common/validation';
import { SpecsService } from '../specs/specs.service';
import {
  CreateCalibrationDto,
  CreateModelConfigDto,
  calibrationBody,
  modelConfigBody,
} from './documents.dto';
import { DocumentsService } from './documents.service';

/** Uploaded Hugging Face config.json documents (deployments name them by modelConfigId). */
@ApiTags('model configs')
@ApiBearerAuth()
@Controller('model-configs')
export class ModelConfigsController {
  constructor(
    private readonly repo: ModelConfigRepository,
    private readonly docs: DocumentsService,
  ) {}

  @Post()
  @RequireRole('planner')
  async create(@Auth() auth: AuthContext, @Body() dto: CreateModelConfigDto) {
    const spec = this.docs.modelConfig(dto.config, dto.name);
    const row = await this.repo.create(auth.workspaceId, {
      name: dto.name,
      description: dto.description ?? null,
      spec,
    });
    return modelConfigBody(row);
  }

  @Get()
  async list(@Auth() auth: AuthContext, @Query() q: NamedPageQueryDto) {
    const p = await this.repo.list(auth.workspaceId, namedPage(q));
    return { ...p, items: p.items.map(modelConfigBody) };
  }

  @Get(':id')
  async get(@Auth() auth: AuthContext, @Param('id', UUID_PIPE) id: string) {
    const row = await this.repo.get(auth.workspaceId, id);
    if (!row) throw SpecsService.notFound('model config');
    return modelConfigBody(row);
  }

  @Delete(':id')
  @HttpCode(204)
  @RequireRole('planner')
  async remove(@Auth() auth: AuthContext, @Param('id', UUID_PIPE) id: string): Promise<void> {
    if (!(await this.repo.delete(auth.workspaceId, id))) throw SpecsService.notFound('model config');
  }
}

/** Uploaded calibration profiles (deployments name them by calibrationId). */
@ApiTags('calibrations')
@ApiBearerAuth()
@Controller('calibrations')
export class CalibrationsController {
  constructor(
    private readonly repo: CalibrationRepository,
    private readonly docs: DocumentsService,
  ) {}

  @Post()
  @RequireRole('planner')
  async create(@Auth() auth: AuthContext, @Body() dto: CreateCalibrationDto) {
    const spec = this.docs.calibration(dto.profile, dto.name);
    const row = await this.repo.create(auth.workspaceId, {
      name: dto.name,
      description: dto.description ?? null,
      spec,
    });
    return calibrationBody(row);
  }

  @Get()
  async list(@Auth() auth: AuthContext, @Query() q: NamedPageQueryDto) {
    const p = await this.repo.list(auth.workspaceId, namedPage(q));
    return { ...p, items: p.items.map(calibrationBody) };
  }

  @Get(':id')
  async get(@Auth() auth: AuthContext, @Param('id', UUID_PIPE) id: string) {
    const row = await this.repo.get(auth.workspaceId, id);
    if (!row) throw SpecsService.notFound('calibration');
    return calibrationBody(row);
  }

  @Delete(':id')
  @HttpCode(204)
  @RequireRole('planner')
  async remove(@Auth() auth: AuthContext, @Param('id', UUID_PIPE) id: string): Promise<void> {
    if (!(await this.repo.delete(auth.workspaceId, id))) throw SpecsService.notFound('calibration');
  }
}
