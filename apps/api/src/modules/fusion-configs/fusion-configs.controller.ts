import { Body, Controller, Delete, Get, HttpCode, Param, Patch, Post, Query } from '@nestjs/common';
import { ApiBearerAuth, ApiTags } from '@nestjs/swagger';
import { Auth, RequireRole, type AuthContext } from '../../common/auth';
import { NamedPageQueryDto, namedPage } from '../../common/paging.dto';
import { UUID_PIPE } from '../../common/validation';
import { SpecsService } from '../specs/specs.service';
import { CreateFusionConfigDto, UpdateFusionConfigDto } from './fusion-configs.dto';
import { specDocumentBody } from '../../common/named.dto';

@ApiTags('fusion configs')
@ApiBearerAuth()
@Controller('fusion-configs')
export class FusionConfigsController {
  constructor(private readonly specs: SpecsService) {}

  @Post()
  @RequireRole('planner')
  async create(@Auth() auth: AuthContext, @Body() dto: CreateFusionConfigDto) {
    const spec = this.specs.fusionSpec(dto);
    this.specs.checkFusion(spec);
    const row = await this.specs.fusionConfigs.create(auth.workspaceId, {
      name: dto.name,
      description: dto.description ?? null,
      spec,
    });
    return specDocumentBody(row);
  }

  @Get()
  async list(@Auth() auth: AuthContext, @Query() q: NamedPageQueryDto) {
    const p = await this.specs.fusionConfigs.list(auth.workspaceId, namedPage(q));
    return { ...p, items: p.items.map(specDocumentBody) };
  }

  @Get(':id')
  async get(@Auth() auth: AuthContext, @Param('id', UUID_PIPE) id: string) {
    const row = await this.specs.fusionConfigs.get(auth.workspaceId, id);
    if (!row) throw SpecsService.notFound('fusion config');
    return specDocumentBody(row);
  }

  @Patch(':id')
  @RequireRole('planner')
  async update(
    @Auth() auth: AuthContext,
    @Param('id', UUID_PIPE) id: string,
    @Body() dto: UpdateFusionConfigDto,
  ) {
    const row = await this.specs.fusionConfigs.get(auth.workspaceId, id);
    if (!row) throw SpecsService.notFound('fusion config');
    const spec = { ...row.spec, ...this.specs.fusionSpec(dto) };
    this.specs.checkFusion(spec);
    const updated = await this.specs.fusionConfigs.update(auth.workspaceId, id, {
      ...(dto.name !== undefined && { name: dto.name }),
      ...(dto.description !== undefined && { description: dto.description }),
      spec,
    });
    return specDocumentBody(updated!);
  }

  @Delete(':id')
  @HttpCode(204)
  @RequireRole('planner')
  async remove(@Auth() auth: AuthContext, @Param('id', UUID_PIPE) id: string): Promise<void> {
    if (!(await this.specs.fusionConfigs.delete(auth.workspaceId, id)))
      throw SpecsService.notFound('fusion config');
  }
}
