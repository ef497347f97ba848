import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsIn, IsInt, IsNumber, IsObject, IsOptional, IsUUID, Max, Min } from 'class-validator';
import type { JobEntity, ProjectionEntity } from '@kvplan/db';

export class CreateProjectionDto {
  @ApiProperty({ format: 'uuid' })
  @IsUUID()
  workloadProfileId!: string;

  @ApiProperty({ format: 'uuid' })
  @IsUUID()
  deploymentId!: string;

  @ApiPropertyOptional({ format: 'uuid', description: 'Project with and without this fusion configuration' })
  @IsOptional()
  @IsUUID()
  fusionConfigId?: string;

  @ApiPropertyOptional({ description: 'Which of the fusion config thresholds (default: its first)' })
  @IsOptional()
  @IsNumber({ allowNaN: false, allowInfinity: false })
  @Min(-1)
  @Max(1)
  threshold?: number;

  @ApiPropertyOptional({ minimum: 0 })
  @IsOptional()
  @IsInt()
  @Min(0)
  seed?: number;

  @ApiPropertyOptional({
    type: 'object',
    additionalProperties: true,
    description: 'Overrides the deployment SLO',
  })
  @IsOptional()
  @IsObject()
  slo?: Record<string, unknown>;
}

export class ExportQueryDto {
  @ApiPropertyOptional({ enum: ['json', 'csv'], default: 'json' })
  @IsOptional()
  @IsIn(['json', 'csv'])
  format: 'json' | 'csv' = 'json';
}

export function jobBody(j: JobEntity) {
  return {
    id: j.id,
    kind: j.kind,
    status: j.status,
    progress: j.progress,
    attempts: j.attempts,
    error: j.error,
    createdAt: j.createdAt,
    startedAt: j.startedAt,
    finishedAt: j.finishedAt,
  };
}

export function projectionBody(p: ProjectionEntity, job?: JobEntity) {
  const j = job ?? p.job;
  return {
    id: p.id,
    workloadProfileId: p.workloadProfileId,
    deploymentId: p.deploymentId,
    fusionConfigId: p.fusionConfigId,
    status: j?.status ?? null,
    job: j ? jobBody(j) : null,
    spec: p.spec,
    result: p.result,
    createdAt: p.createdAt,
    resultAt: p.resultAt,
  };
}

/** Flat metrics of both runs as CSV: metric,without_fusion,with_fusion. */
export function resultCsv(result: Record<string, unknown> | null): string {
  const lines = ['metric,without_fusion,with_fusion'];
  if (!result) return lines.join('\n') + '\n';
  const a = (result.withoutFusion ?? {}) as Record<string, unknown>;
  const b = (result.withFusion ?? {}) as Record<string, unknown>;
  const keys = [...new Set([...Object.keys(a), ...Object.keys(b)])].filter(
    (k) => typeof a[k] === 'number' || typeof b[k] === 'number',
  );
  const cell = (v: unknown) => (typeof v === 'number' ? String(v) : '');
  for (const k of keys) lines.push(`${k},${cell(a[k])},${cell(b[k])}`);
  return lines.join('\n') + '\n';
}
