import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsIn, IsInt, IsOptional, IsString, Length, Max, Min, ValidateIf } from 'class-validator';
import { ROLES, type Role } from '@kvplan/contracts';
import type { ApiKeyEntity, WorkspaceEntity } from '@kvplan/db';

export class UpdateWorkspaceDto {
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

export class CreateWorkspaceDto {
  @ApiProperty()
  @IsString()
  @Length(1, 200)
  name!: string;
}

export class CreateKeyDto {
  @ApiProperty()
  @IsString()
  @Length(1, 200)
  name!: string;

  @ApiProperty({ enum: ROLES })
  @IsIn(ROLES)
  role!: Role;
}

export const workspaceBody = (w: WorkspaceEntity) => ({
  id: w.id,
  name: w.name,
  retentionDays: w.retentionDays,
  createdAt: w.createdAt,
});
export const keyBody = (k: ApiKeyEntity) => ({
  id: k.id,
  name: k.name,
  role: k.role,
  prefix: k.keyPrefix,
  createdAt: k.createdAt,
  revokedAt: k.revokedAt,
});
