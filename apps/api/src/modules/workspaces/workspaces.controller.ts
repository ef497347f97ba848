import {
  Body,
  Controller,
  Delete,
  ForbiddenException,
  Get,
  HttpCode,
  Inject,
  Injectable,
  Param,
  ParseUUIDPipe,
  Patch,
  Post,
  UnauthorizedException,
  UseGuards,
  type CanActivate,
  type ExecutionContext,
} from '@nestjs/common';
import {
  CreateKeyDto,
  CreateWorkspaceDto,
  UpdateWorkspaceDto,
  keyBody,
  workspaceBody,
} from './workspaces.dto';
import { ApiBearerAuth, ApiTags } from '@nestjs/swagger';
import { WorkspaceRepository } from '@kvplan/db';
import type { ApiConfig } from '../../config/config';
import { API_CONFIG } from '../../infra/tokens';
import { Auth, Public, RequireRole, type AuthContext } from '../../common/auth';
import { bearerMatches } from '../../common/server-secret';
import { SpecsService } from '../specs/specs.service';

/** The server's OPERATOR_KEY as the bearer token (checked before the body is looked at). */
@Injectable()
class OperatorGuard implements CanActivate {
  constructor(@Inject(API_CONFIG) private readonly config: ApiConfig) {}

  canActivate(ctx: ExecutionContext): boolean {
    const req = ctx.switchToHttp().getRequest<{ headers: Record<string, string | string[] | undefined> }>();
    if (!this.config.operatorKey)
      throw new ForbiddenException(
        'creating workspaces over HTTP is off: set OPERATOR_KEY on the server, or run `kvplan admin create-key --workspace NAME`',
      );
    if (!bearerMatches(req.headers.authorization, this.config.operatorKey))
      throw new UnauthorizedException('creating a workspace needs the operator key (OPERATOR_KEY)');
    return true;
  }
}

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

  /**
   * A new workspace and its first admin key (shown once). Only the operator may: the bearer
   * token is the server's OPERATOR_KEY, not a workspace's API key (or `kvplan admin create-key`).
   */
  @Post('workspaces')
  @Public()
  @UseGuards(OperatorGuard)
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
