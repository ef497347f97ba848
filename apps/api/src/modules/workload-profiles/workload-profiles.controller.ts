import { Body, Controller, Delete, Get, HttpCode, Param, Patch, Post, Query } from '@nestjs/common';
import { ApiBearerAuth, ApiTags } from '@nestjs/swagger';
import { Auth, RequireRole, type AuthContext } from '../../common/auth';
import { NamedPageQueryDto, namedPage } from '../../common/paging.dto';
import { UUID_PIPE } from '../../common/validation';
import { SpecsService } from '../specs/specs.service';
import {
  CreateWorkloadProfileDto,
  UpdateWorkloadProfileDto,
  workloadProfileBody,
} from './workload-profiles.dto';

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
    const p = await this.specs.profiles.list(auth.workspaceId, namedPage(q));
    return { ...p, items: p.items.map(workloadProfileBody) };
  }

  @Get(':id')
  async get(@Auth() auth: AuthContext, @Param('id', UUID_PIPE) id: string) {
    const row = await this.specs.profiles.get(auth.workspaceId, id);
    if (!row) throw SpecsService.notFound('workload profile');
    return workloadProfileBody(row);
  }

  @Patch(':id')
  @RequireRole('planner')
  async update(
    @Auth() auth: AuthContext,
    @Param('id', UUID_PIPE) id: string,
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
  async remove(@Auth() auth: AuthContext, @Param('id', UUID_PIPE) id: string): Promise<void> {
    if (!(await this.specs.profiles.delete(auth.workspaceId, id)))
      throw SpecsService.notFound('workload profile');
  }
}
