import { ApiProperty, ApiPropertyOptional, PartialType } from '@nestjs/swagger';
import { IsObject, IsOptional, IsUUID } from 'class-validator';
import type { WorkloadProfileEntity } from '@kvplan/db';
import { NamedDto } from '../../common/named.dto';

export class CreateWorkloadProfileDto extends NamedDto {
  @ApiProperty({
    description:
      'The `workload` section of a simulation spec: a generator {arrival, stages?, numRequests, inputTokens, outputTokens, prefixGroups?, tenants?}, or with traceId the trace options {startS?, durationS?, timeScale?, maxRequests?}.',
    type: 'object',
    additionalProperties: true,
  })
  @IsObject()
  workload!: Record<string, unknown>;

  @ApiPropertyOptional({ format: 'uuid', description: 'A trace uploaded to this workspace (POST /traces)' })
  @IsOptional()
  @IsUUID()
  traceId?: string;
}

export class UpdateWorkloadProfileDto extends PartialType(CreateWorkloadProfileDto) {}

export function workloadProfileBody(e: WorkloadProfileEntity) {
  return {
    id: e.id,
    name: e.name,
    description: e.description,
    workload: e.spec,
    traceId: e.traceId,
    createdAt: e.createdAt,
    updatedAt: e.updatedAt,
  };
}
