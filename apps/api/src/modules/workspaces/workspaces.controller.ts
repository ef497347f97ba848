import { Body, Controller, Delete, Get, HttpCode, Param, ParseUUIDPipe, Patch, Post } from '@nestjs/common';
import { ApiBearerAuth, ApiProperty, ApiPropertyOptional, ApiTags } from '@nestjs/swagger';
import { IsIn, IsInt, IsOptional, IsString, Length, Max, Min, ValidateIf } from 'class-validator';
import { ROLES, type Role } from '@kvplan/contracts';
import { WorkspaceRepository, type ApiKeyEntity, type WorkspaceEntity } from '@kvplan/db';
import { Auth, RequireRole, type AuthContext } from '../../common/auth';
import { SpecsService } from '../specs/specs.service';

class UpdateWorkspaceDto {
  @ApiPropertyOptional()
  @IsOptional()
  @IsString()
  @Length(1, 200)
  name?: string;

  @ApiPropertyOptional({ nullable: true, description: 'Days to keep uploads and results; null keeps them' })
  @ValidateIf((_, v) => v !== null && v !== undefined)
  @IsInt()
  @Min(1)
  @Max(36500)
  retentionDays?: number | null;
}

class CreateWorkspaceDto {
  @ApiProperty()
  @IsString()
  @Length(1, 200)
  name!: string;
}

class CreateKeyDto {
  @ApiProperty()
  @IsString()
  @Length(1, 200)
  name!: string;

  @ApiProperty({ enum: ROLES })
  @IsIn(ROLES)
  role!: Role;
}

const workspaceBody = (w: WorkspaceEntity) => ({
  id: w.id,
  name: w.name,
  retentionDays: w.retentionDays,
  createdAt: w.createdAt,
});
const keyBody = (k: ApiKeyEntity) => ({
  id: k.id,
  name: k.name,
  role: k.role,
  prefix: k.keyPrefix,
  createdAt: k.createdAt,
  revokedAt: k.revokedAt,
});

@ApiTags('workspaces and keys')
@ApiBearerAuth()
@Controller()
export class WorkspacesController {
  constructor(private readonly repo: WorkspaceRepository) {}

  @Get('workspace')
  async current(@Auth() auth: AuthContext) {
    const w = await this.repo.getWorkspace(auth.workspaceId);
    if (!w) throw SpecsService.notFound('workspace');
    return { ...workspaceBody(w), role: auth.role };
  }

  @Patch('workspace')
  @RequireRole('admin')
  async update(@Auth() auth: AuthContext, @Body() dto: UpdateWorkspaceDto) {
    const w = await this.repo.updateWorkspace(auth.workspaceId, dto);
    if (!w) throw SpecsService.notFound('workspace');
    return workspaceBody(w);
  }

  /** A new workspace and its first admin key (shown once). The caller gets no access to it. */
  @Post('workspaces')
  @RequireRole('admin')
  async create(@Body() dto: CreateWorkspaceDto) {
    const { workspace, key, secret } = await this.repo.createWorkspaceWithAdminKey(dto.name);
    return { workspace: workspaceBody(workspace), key: keyBody(key), secret };
  }

  @Get('api-keys')
  @RequireRole('admin')
  async keys(@Auth() auth: AuthContext) {
    return { items: (await this.repo.listKeys(auth.workspaceId)).map(keyBody) };
  }

  @Post('api-keys')
  @RequireRole('admin')
  async createKey(@Auth() auth: AuthContext, @Body() dto: CreateKeyDto) {
    const { key, secret } = await this.repo.createKey(auth.workspaceId, dto.name, dto.role);
    return { key: keyBody(key), secret };
  }

  @Delete('api-keys/:id')
  @HttpCode(204)
  @RequireRole('admin')
  async revoke(@Auth() auth: AuthContext, @Param('id', new ParseUUIDPipe()) id: string): Promise<void> {
    if (!(await this.repo.revokeKey(auth.workspaceId, id))) throw SpecsService.notFound('active API key');
  }
}
