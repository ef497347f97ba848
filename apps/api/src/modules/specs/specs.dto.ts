import { ApiProperty, ApiPropertyOptional, PartialType } from '@nestjs/swagger';
import {
  ArrayMaxSize,
  ArrayMinSize,
  IsBoolean,
  IsIn,
  IsInt,
  IsNumber,
  IsObject,
  IsOptional,
  IsString,
  IsUUID,
  Length,
  Max,
  MaxLength,
  Min,
  ValidateBy,
  type ValidationOptions,
} from 'class-validator';
import { MAX_REPLICAS } from '../../common/service-limits';
import type { DeploymentEntity, FusionConfigEntity, WorkloadProfileEntity } from '@kvplan/db';

/** A preset name (string) or an inline object. */
function IsNameOrObject(opts?: ValidationOptions) {
  return ValidateBy(
    {
      name: 'isNameOrObject',
      validator: {
        validate: (v: unknown) =>
          (typeof v === 'string' && v.trim().length > 0 && v.length <= 200) ||
          (typeof v === 'object' && v !== null && !Array.isArray(v)),
        defaultMessage: (a) => `${a?.property} must be a preset name or an object of inline keys`,
      },
    },
    opts,
  );
}

export class NamedDto {
  @ApiProperty({ maxLength: 200 })
  @IsString()
  @Length(1, 200)
  name!: string;

  @ApiPropertyOptional({ maxLength: 2000 })
  @IsOptional()
  @IsString()
  @MaxLength(2000)
  description?: string;
}

// ---- workload profiles

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

// ---- deployments

const ROUTERS = ['round-robin', 'least-loaded'];

export class CreateDeploymentDto extends NamedDto {
  @ApiPropertyOptional({
    description:
      'Model preset (Hugging Face id) or inline config.json keys; or instead modelConfigId. Never a file path.',
    oneOf: [{ type: 'string' }, { type: 'object' }],
  })
  @IsOptional()
  @IsNameOrObject()
  model?: string | Record<string, unknown>;

  @ApiPropertyOptional({
    format: 'uuid',
    description: 'A model config uploaded to this workspace (POST /model-configs)',
  })
  @IsOptional()
  @IsUUID()
  modelConfigId?: string;

  @ApiProperty({
    description: 'GPU preset id or inline GPU',
    oneOf: [{ type: 'string' }, { type: 'object' }],
  })
  @IsNameOrObject()
  gpu!: string | Record<string, unknown>;

  @ApiPropertyOptional({ minimum: 1, default: 1 })
  @IsOptional()
  @IsInt()
  @Min(1)
  @Max(1024)
  tensorParallel?: number;

  @ApiPropertyOptional({ minimum: 1, default: 1 })
  @IsOptional()
  @IsInt()
  @Min(1)
  @Max(MAX_REPLICAS)
  replicas?: number;

  @ApiPropertyOptional({ enum: ROUTERS })
  @IsOptional()
  @IsIn(ROUTERS)
  router?: string;

  @ApiPropertyOptional({
    type: 'object',
    additionalProperties: true,
    description: 'Engine settings (blockSize, maxNumSeqs, ...)',
  })
  @IsOptional()
  @IsObject()
  engine?: Record<string, unknown>;

  @ApiPropertyOptional({
    type: 'object',
    additionalProperties: true,
    description: '{ttftMs: {p99}, tpotMs: {p99}, e2elMs: {p99}}',
  })
  @IsOptional()
  @IsObject()
  slo?: Record<string, unknown>;

  @ApiPropertyOptional({ type: 'object', additionalProperties: true, description: '{gpuHourUsd}' })
  @IsOptional()
  @IsObject()
  cost?: Record<string, unknown>;

  @ApiPropertyOptional({
    description:
      'Built-in calibration profile name or a kvplan-gpu-profile/1 object inline; or instead calibrationId',
    oneOf: [{ type: 'string' }, { type: 'object' }],
  })
  @IsOptional()
  @IsNameOrObject()
  calibration?: string | Record<string, unknown>;

  @ApiPropertyOptional({
    format: 'uuid',
    description: 'A calibration uploaded to this workspace (POST /calibrations)',
  })
  @IsOptional()
  @IsUUID()
  calibrationId?: string;
}

export class UpdateDeploymentDto extends PartialType(CreateDeploymentDto) {}

export const DEPLOYMENT_FIELDS = [
  'model',
  'gpu',
  'tensorParallel',
  'replicas',
  'router',
  'engine',
  'slo',
  'cost',
  'calibration',
  'modelConfigId',
  'calibrationId',
] as const;

// ---- fusion configs

export class CreateFusionConfigDto extends NamedDto {
  @ApiProperty({ enum: ['bff', 'cff'] })
  @IsIn(['bff', 'cff'])
  mode!: 'bff' | 'cff';

  @ApiProperty({ type: [Number], description: 'Cosine-similarity thresholds, each in [-1, 1]' })
  @ArrayMinSize(1)
  @ArrayMaxSize(32)
  @IsNumber({ allowNaN: false, allowInfinity: false }, { each: true })
  @Min(-1, { each: true })
  @Max(1, { each: true })
  thresholds!: number[];

  @ApiPropertyOptional({ type: [Number], description: 'BFF batch sizes the fusion job measures' })
  @IsOptional()
  @ArrayMinSize(1)
  @ArrayMaxSize(32)
  @IsInt({ each: true })
  @Min(2, { each: true })
  @Max(4096, { each: true })
  batchSizes?: number[];

  @ApiPropertyOptional({ description: 'CFF window, in chunks', minimum: 2 })
  @IsOptional()
  @IsInt()
  @Min(2)
  @Max(1024)
  window?: number;

  @ApiPropertyOptional({
    enum: ['global', 'tenant'],
    description: 'Default: tenant when the trace names tenants',
  })
  @IsOptional()
  @IsIn(['global', 'tenant'])
  scope?: 'global' | 'tenant';

  @ApiPropertyOptional()
  @IsOptional()
  @IsBoolean()
  sharedReads?: boolean;
}

export const FUSION_FIELDS = ['mode', 'thresholds', 'batchSizes', 'window', 'scope', 'sharedReads'] as const;

// ---- responses

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

export function deploymentBody(e: DeploymentEntity) {
  return {
    id: e.id,
    name: e.name,
    description: e.description,
    ...e.spec,
    createdAt: e.createdAt,
    updatedAt: e.updatedAt,
  };
}

export function fusionConfigBody(e: FusionConfigEntity) {
  return {
    id: e.id,
    name: e.name,
    description: e.description,
    ...e.spec,
    createdAt: e.createdAt,
    updatedAt: e.updatedAt,
  };
}

export class UpdateFusionConfigDto extends PartialType(CreateFusionConfigDto) {}
