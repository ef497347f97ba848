import { Body, Controller, Delete, Get, HttpCode, Param, Patch, Post, Query } from '@nestjs/common';
import { ApiBearerAuth, ApiTags } from '@nestjs/swagger';
import { Auth, RequireRole, type AuthContext } from '../../common/auth';
import { NamedPageQueryDto, namedPage } from '../../common/paging.dto';
import { UUID_PIPE } from '../../common/validation';
import { SpecsService } from '../specs/specs.service';
import { CreateDeploymentDto, UpdateDeploymentDto } from './deployments.dto';
import { specDocumentBody } from '../../common/named.dto';

@ApiTags('deployments')
@ApiBearerAuth()
@Controller('deployments')
export class DeploymentsController {
  constructor(private readonly specs: SpecsService) {}

  @Post()
  @RequireRole('planner')
  async create(@Auth() auth: AuthContext, @Body() dto: CreateDeploymentDto) {
    const spec = this.specs.deploymentSpec(dto);
    await this.specs.checkDeployment(auth.workspaceId, spec);
    const row = await this.specs.deployments.create(auth.workspaceId, {
      name: dto.name,
      description: dto.description ?? null,
      spec,
    });
    return specDocumentBody(row);
  }

  @Get()
  async list(@Auth() auth: AuthContext, @Query() q: NamedPageQueryDto) {
    const p = await this.specs.deployments.list(auth.workspaceId, namedPage(q));
    return { ...p, items: p.items.map(specDocumentBody) };
  }

  @Get(':id')
  async get(@Auth() auth: AuthContext, @Param('id', UUID_PIPE) id: string) {
    const row = await this.specs.deployments.get(auth.workspaceId, id);
    if (!row) throw SpecsService.notFound('deployment');
    return specDocumentBody(row);
  }

  @Patch(':id')
  @RequireRole('planner')
  async update(
    @Auth() auth: AuthContext,
    @Param('id', UUID_PIPE) id: string,
    @Body() dto: UpdateDeploymentDto,
  ) {
    const row = await this.specs.deployments.get(auth.workspaceId, id);
    if (!row) throw SpecsService.notFound('deployment');
    const spec = this.specs.deploymentSpec(dto, row.spec);
    await this.specs.checkDeployment(auth.workspaceId, spec);
    const updated = await this.specs.deployments.update(auth.workspaceId, id, {
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
    if (!(await this.specs.deployments.delete(auth.workspaceId, id)))
      throw SpecsService.notFound('deployment');
  }
}
