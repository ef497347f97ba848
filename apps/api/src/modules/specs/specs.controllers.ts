import {
  Body,
  Controller,
  Delete,
  Get,
  HttpCode,
  Param,
  ParseUUIDPipe,
  Patch,
  Post,
  Query,
} from '@nestjs/common';
import { ApiBearerAuth, ApiTags } from '@nestjs/swagger';
import { Auth, RequireRole, type AuthContext } from '../../common/auth';
import { NamedPageQueryDto } from '../../common/paging.dto';
import {
  CreateDeploymentDto,
  CreateFusionConfigDto,
  CreateWorkloadProfileDto,
  UpdateDeploymentDto,
  UpdateFusionConfigDto,
  UpdateWorkloadProfileDto,
  deploymentBody,
  fusionConfigBody,
  workloadProfileBody,
} from './specs.dto';
import { SpecsService } from './specs.service';

const page = (q: NamedPageQueryDto) => ({ limit: q.limit, offset: q.offset, nameContains: q.name });
const uuid = new ParseUUIDPipe({ version: undefined });

@ApiTags('workload profiles')
@ApiBearerAuth()
@Controller('workload-profiles')
export class WorkloadProfilesController {
  constructor(private readonly specs: SpecsService) {}

  @Post()
  @RequireRole('planner')
  async create(@Auth() auth: AuthContext, @Body() dto: CreateWorkloadProfileDto) {
    await this.specs.checkWorkload(auth.workspaceId, dto.workload, dto.traceId ?? null);
    const row = await this.specs.profiles.create(auth.workspaceId, {
      name: dto.name,
      description: dto.description ?? null,
      spec: dto.workload,
      traceId: dto.traceId ?? null,
    });
    return workloadProfileBody(row);
  }

  @Get()
  async list(@Auth() auth: AuthContext, @Query() q: NamedPageQueryDto) {
    const p = await this.specs.profiles.list(auth.workspaceId, page(q));
    return { ...p, items: p.items.map(workloadProfileBody) };
  }

  @Get(':id')
  async get(@Auth() auth: AuthContext, @Param('id', uuid) id: string) {
    const row = await this.specs.profiles.get(auth.workspaceId, id);
    if (!row) throw SpecsService.notFound('workload profile');
    return workloadProfileBody(row);
  }

  @Patch(':id')
  @RequireRole('planner')
  async update(
    @Auth() auth: AuthContext,
    @Param('id', uuid) id: string,
    @Body() dto: UpdateWorkloadProfileDto,
  ) {
    const row = await this.specs.profiles.get(auth.workspaceId, id);
    if (!row) throw SpecsService.notFound('workload profile');
    const workload = dto.workload ?? row.spec;
    const traceId = dto.traceId !== undefined ? dto.traceId : row.traceId;
    await this.specs.checkWorkload(auth.workspaceId, workload, traceId);
    const updated = await this.specs.profiles.update(auth.workspaceId, id, {
      ...(dto.name !== undefined && { name: dto.name }),
      ...(dto.description !== undefined && { description: dto.description }),
      spec: workload,
      traceId,
    });
    return workloadProfileBody(updated!);
  }

  @Delete(':id')
  @HttpCode(204)
  @RequireRole('planner')
  async remove(@Auth() auth: AuthContext, @Param('id', uuid) id: string): Promise<void> {
    if (!(await this.specs.profiles.delete(auth.workspaceId, id)))
      throw SpecsService.notFound('workload profile');
  }
}

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
    return deploymentBody(row);
  }

  @Get()
  async list(@Auth() auth: AuthContext, @Query() q: NamedPageQueryDto) {
    const p = await this.specs.deployments.list(auth.workspaceId, page(q));
    return { ...p, items: p.items.map(deploymentBody) };
  }

  @Get(':id')
  async get(@Auth() auth: AuthContext, @Param('id', uuid) id: string) {
    const row = await this.specs.deployments.get(auth.workspaceId, id);
    if (!row) throw SpecsService.notFound('deployment');
    return deploymentBody(row);
  }

  @Patch(':id')
  @RequireRole('planner')
  async update(@Auth() auth: AuthContext, @Param('id', uuid) id: string, @Body() dto: UpdateDeploymentDto) {
    const row = await this.specs.deployments.get(auth.workspaceId, id);
    if (!row) throw SpecsService.notFound('deployment');
    const spec = this.specs.deploymentSpec(dto, row.spec);
    await this.specs.checkDeployment(auth.workspaceId, spec);
    const updated = await this.specs.deployments.update(auth.workspaceId, id, {
      ...(dto.name !== undefined && { name: dto.name }),
      ...(dto.description !== undefined && { description: dto.description }),
      spec,
    });
    return deploymentBody(updated!);
  }

  @Delete(':id')
  @HttpCode(204)
  @RequireRole('planner')
  async remove(@Auth() auth: AuthContext, @Param('id', uuid) id: string): Promise<void> {
    if (!(await this.specs.deployments.delete(auth.workspaceId, id)))
      throw SpecsService.notFound('deployment');
  }
}

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
    return fusionConfigBody(row);
  }

  @Get()
  async list(@Auth() auth: AuthContext, @Query() q: NamedPageQueryDto) {
    const p = await this.specs.fusionConfigs.list(auth.workspaceId, page(q));
    return { ...p, items: p.items.map(fusionConfigBody) };
  }

  @Get(':id')
  async get(@Auth() auth: AuthContext, @Param('id', uuid) id: string) {
    const row = await this.specs.fusionConfigs.get(auth.workspaceId, id);
    if (!row) throw SpecsService.notFound('fusion config');
    return fusionConfigBody(row);
  }

  @Patch(':id')
  @RequireRole('planner')
  async update(@Auth() auth: AuthContext, @Param('id', uuid) id: string, @Body() dto: UpdateFusionConfigDto) {
    const row = await this.specs.fusionConfigs.get(auth.workspaceId, id);
    if (!row) throw SpecsService.notFound('fusion config');
    const spec = { ...row.spec, ...this.specs.fusionSpec(dto) };
    this.specs.checkFusion(spec);
    const updated = await this.specs.fusionConfigs.update(auth.workspaceId, id, {
      ...(dto.name !== undefined && { name: dto.name }),
      ...(dto.description !== undefined && { description: dto.description }),
      spec,
    });
    return fusionConfigBody(updated!);
  }

  @Delete(':id')
  @HttpCode(204)
  @RequireRole('planner')
  async remove(@Auth() auth: AuthContext, @Param('id', uuid) id: string): Promise<void> {
    if (!(await this.specs.fusionConfigs.delete(auth.workspaceId, id)))
      throw SpecsService.notFound('fusion config');
  }
}
