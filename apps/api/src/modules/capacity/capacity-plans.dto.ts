import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import {
  ArrayMaxSize,
  ArrayMinSize,
  ArrayUnique,
  IsIn,
  IsInt,
  IsNumber,
  IsObject,
  IsOptional,
  IsUUID,
  Max,
  Min,
  ValidateIf,
} from 'class-validator';
import { CAPACITY_MODES, type CapacityMode } from '@kvplan/contracts';
import type { CapacityPlanEntity } from '@kvplan/db';
import { MAX_REPLICAS } from '../../common/service-limits';
import { jobBody } from '../projections/projections.dto';

export const MAX_CAPACITY_POINTS = 200;
/** Deployments one answer plan compares, and configurations (deployments x TP x (1 + thresholds)) it evaluates. */
export const MAX_ANSWER_DEPLOYMENTS = 8;
export const MAX_ANSWER_CONFIGURATIONS = 48;

export class CreateCapacityPlanDto {
  @ApiProperty({ format: 'uuid' })
  @IsUUID()
  workloadProfileId!: string;

  @ApiPropertyOptional({ format: 'uuid', description: 'the deployment (every mode but answer)' })
  @ValidateIf((o: CreateCapacityPlanDto) => o.mode !== 'answer' || o.deploymentId !== undefined)
  @IsUUID()
  deploymentId?: string;

  @ApiPropertyOptional({
    type: [String],
    description: 'answer: the deployments to compare, typically one per GPU type (1 to 8)',
  })
  @IsOptional()
  @ArrayMinSize(1)
  @ArrayMaxSize(MAX_ANSWER_DEPLOYMENTS)
  @ArrayUnique()
  @IsUUID('all', { each: true })
  deploymentIds?: string[];

  @ApiPropertyOptional({
    type: [Number],
    description: "answer: tensor-parallel degrees to try on each deployment (default: each deployment's own)",
  })
  @IsOptional()
  @ArrayMinSize(1)
  @ArrayMaxSize(8)
  @ArrayUnique()
  @IsInt({ each: true })
  @Min(1, { each: true })
  @Max(64, { each: true })
  tensorParallel?: number[];

  @ApiPropertyOptional({
    description: "answer: requests per second to serve (default: the workload's own mean rate)",
  })
  @IsOptional()
  @IsNumber({ allowNaN: false, allowInfinity: false })
  @Min(0.001)
  @Max(10_000)
  targetRate?: number;

  @ApiPropertyOptional({ format: 'uuid' })
  @IsOptional()
  @IsUUID()
  fusionConfigId?: string;

  @ApiProperty({
    enum: CAPACITY_MODES,
    description:
      'max-rate: highest arrival-rate multiple meeting the SLO; min-gpus: fewest replicas meeting the SLO at the profile rate; pareto: goodput and accuracy across fusion thresholds; answer: the fewest GPUs and their price for the workload rate, per deployment (GPU type) x TP x fusion threshold, in one sentence and a table',
  })
  @IsIn(CAPACITY_MODES)
  mode!: CapacityMode;

  @ApiPropertyOptional({
    type: [Number],
    description: 'max-rate: multiples of the workload rate to try (default 0.5,1,2,4,8)',
  })
  @IsOptional()
  @ArrayMinSize(1)
  @ArrayMaxSize(MAX_CAPACITY_POINTS)
  @IsNumber({ allowNaN: false, allowInfinity: false }, { each: true })
  @Min(0.001, { each: true })
  @Max(1000, { each: true })
  rateScales?: number[];

  @ApiPropertyOptional({ type: [Number], description: 'min-gpus: replica counts to try (default 1,2,4,8)' })
  @IsOptional()
  @ArrayMinSize(1)
  @ArrayMaxSize(MAX_CAPACITY_POINTS)
  @IsInt({ each: true })
  @Min(1, { each: true })
  @Max(MAX_REPLICAS, { each: true })
  replicas?: number[];

  @ApiPropertyOptional({
    type: [Number],
    description: 'pareto and answer: thresholds (default: the fusion config thresholds)',
  })
  @IsOptional()
  @ArrayMinSize(1)
  @ArrayMaxSize(MAX_CAPACITY_POINTS)
  @IsNumber({ allowNaN: false, allowInfinity: false }, { each: true })
  @Min(-1, { each: true })
  @Max(1, { each: true })
  thresholds?: number[];

  @ApiPropertyOptional({ type: 'object', additionalProperties: true })
  @IsOptional()
  @IsObject()
  slo?: Record<string, unknown>;
}

export const planBody = (p: CapacityPlanEntity) => ({
  id: p.id,
  mode: p.mode,
  fusionProfileId: p.fusionProfileId,
  status: p.job?.status ?? null,
  job: p.job ? jobBody(p.job) : null,
  points: p.points,
  slo: p.slo,
  result: p.result,
  createdAt: p.createdAt,
  resultAt: p.resultAt,
});
