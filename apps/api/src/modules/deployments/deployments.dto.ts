import { ApiProperty, ApiPropertyOptional, PartialType } from '@nestjs/swagger';
import { IsBoolean, IsIn, IsInt, IsObject, IsOptional, IsUUID, Max, Min } from 'class-validator';
import { ROUTERS, SPEC_KEYS } from '@kvplan/sim';
import { IsNameOrObject, NamedDto } from '../../common/named.dto';
import { MAX_DATA_PARALLEL, MAX_PIPELINE_PARALLEL, MAX_REPLICAS } from '../../common/service-limits';

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

  @ApiPropertyOptional({
    minimum: 1,
    maximum: MAX_PIPELINE_PARALLEL,
    default: 1,
    description:
      "Pipeline stages per replica (vLLM's pipeline_parallel_size); must divide the model's layers",
  })
  @IsOptional()
  @IsInt()
  @Min(1)
  @Max(MAX_PIPELINE_PARALLEL)
  pipelineParallel?: number;

  @ApiPropertyOptional({
    type: 'object',
    additionalProperties: true,
    description: 'CPU KV offload: {cpuGiB, hostMemoryGiB?} (GiB per replica; host memory per node)',
  })
  @IsOptional()
  @IsObject()
  kvOffload?: Record<string, unknown>;

  @ApiPropertyOptional({
    minimum: 1,
    maximum: MAX_DATA_PARALLEL,
    default: 1,
    description:
      "Data-parallel ranks per replica (vLLM data_parallel_size); a MoE model's ranks share its MoE layers",
  })
  @IsOptional()
  @IsInt()
  @Min(1)
  @Max(MAX_DATA_PARALLEL)
  dataParallel?: number;

  @ApiPropertyOptional({
    default: false,
    description:
      'Spread whole experts over the tensorParallel x dataParallel GPUs (vLLM enable_expert_parallel)',
  })
  @IsOptional()
  @IsBoolean()
  expertParallel?: boolean;

  @ApiPropertyOptional({ type: 'object', additionalProperties: true, description: '{loadImbalance}' })
  @IsOptional()
  @IsObject()
  moe?: Record<string, unknown>;

  @ApiPropertyOptional({
    type: 'object',
    additionalProperties: true,
    description:
      "{fabric, linkGBps, linkLatencyUs, linkEfficiency, gpusPerNode, nodes, networkGBps, networkLatencyUs, collectives}; the GPU preset's by default",
  })
  @IsOptional()
  @IsObject()
  topology?: Record<string, unknown>;

  @ApiPropertyOptional({ minimum: 1, default: 1 })
  @IsOptional()
  @IsInt()
  @Min(1)
  @Max(MAX_REPLICAS)
  replicas?: number;

  @ApiPropertyOptional({ enum: [...ROUTERS] })
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

/** The spec keys a deployment holds (the simulation spec's, but the run's own), and its document ids. */
export const DEPLOYMENT_FIELDS = [
  ...SPEC_KEYS.filter((k) => !['workload', 'fusion', 'seed', 'timeseries'].includes(k)),
  'modelConfigId',
  'calibrationId',
] as const;
