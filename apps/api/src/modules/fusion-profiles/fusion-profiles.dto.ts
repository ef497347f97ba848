import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsInt, IsOptional, IsUUID, Max, Min } from 'class-validator';
import { FUSION_PROFILE_DEFAULTS, FUSION_PROFILE_LIMITS, fusionProfileOptions } from '@kvplan/contracts';
import type { FusionProfileEntity, JobEntity } from '@kvplan/db';
import { PageQueryDto } from '../../common/paging.dto';
import { jobBody } from '../projections/projections.dto';

const L = FUSION_PROFILE_LIMITS;

export class CreateFusionProfileDto {
  @ApiProperty({ format: 'uuid', description: 'The workload whose requests are sampled' })
  @IsUUID()
  workloadProfileId!: string;

  @ApiProperty({ format: 'uuid', description: 'Mode, thresholds, batch sizes (BFF) or window (CFF), scope' })
  @IsUUID()
  fusionConfigId!: string;

  @ApiProperty({
    format: 'uuid',
    description:
      "The deployment: its block size, and its model's shape for synthetic KV when neither a model nor a KV sample is available",
  })
  @IsUUID()
  deploymentId!: string;

  @ApiPropertyOptional({
    minimum: L.minSampleSize,
    maximum: L.maxSampleSize,
    default: FUSION_PROFILE_DEFAULTS.sampleSize,
    description: 'Requests sampled, stratified by prompt length (at least the largest batch size)',
  })
  @IsOptional()
  @IsInt()
  @Min(L.minSampleSize)
  @Max(L.maxSampleSize)
  sampleSize?: number;

  @ApiPropertyOptional({ minimum: 0, default: FUSION_PROFILE_DEFAULTS.seed })
  @IsOptional()
  @IsInt()
  @Min(0)
  @Max(2 ** 31 - 1)
  seed?: number;

  @ApiPropertyOptional({
    minimum: L.minPromptTokens,
    maximum: L.maxPromptTokens,
    default: FUSION_PROFILE_DEFAULTS.maxPromptTokens,
    description: "Each sampled prompt's KV cache is cut to this many tokens",
  })
  @IsOptional()
  @IsInt()
  @Min(L.minPromptTokens)
  @Max(L.maxPromptTokens)
  maxPromptTokens?: number;
}

export class FusionProfileListQuery extends PageQueryDto {
  @ApiPropertyOptional({ format: 'uuid' })
  @IsOptional()
  @IsUUID()
  workloadProfileId?: string;
}

/** A fusion profile: its request, its job, and once built the kvplan-fusion-profile/1 with what the job did. */
export function fusionProfileBody(f: FusionProfileEntity, job?: JobEntity, full = true) {
  const j = job ?? f.job;
  return {
    id: f.id,
    workloadProfileId: f.workloadProfileId,
    fusionConfigId: f.fusionConfigId,
    deploymentId: f.deploymentId,
    options: fusionProfileOptions(f.options),
    status: j?.status ?? null,
    job: j ? jobBody(j) : null,
    source: f.source,
    createdAt: f.createdAt,
    ...(full ? { profile: f.profile, details: f.details } : {}),
  };
}
