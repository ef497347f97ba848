import { ApiPropertyOptional } from '@nestjs/swagger';
import { IsIn, IsOptional, IsString, IsUUID, Length } from 'class-validator';
import type { KvSampleEntity, TraceEntity } from '@kvplan/db';

export class TraceUploadQuery {
  @ApiPropertyOptional()
  @IsOptional()
  @IsString()
  @Length(1, 200)
  name?: string;

  @ApiPropertyOptional({ enum: ['csv', 'jsonl'], description: 'Default: from the content type' })
  @IsOptional()
  @IsIn(['csv', 'jsonl'])
  format?: 'csv' | 'jsonl';
}

export class KvUploadQuery {
  @ApiPropertyOptional()
  @IsOptional()
  @IsString()
  @Length(1, 200)
  name?: string;

  @ApiPropertyOptional({ format: 'uuid' })
  @IsOptional()
  @IsUUID()
  workloadProfileId?: string;
}

export const traceBody = (t: TraceEntity) => ({
  id: t.id,
  name: t.name,
  format: t.format,
  sizeBytes: t.sizeBytes,
  sha256: t.sha256,
  numRequests: t.numRequests,
  tenants: t.tenants,
  createdAt: t.createdAt,
});
export const kvBody = (k: KvSampleEntity) => ({
  id: k.id,
  name: k.name,
  workloadProfileId: k.workloadProfileId,
  sizeBytes: k.sizeBytes,
  sha256: k.sha256,
  metadata: k.metadata,
  createdAt: k.createdAt,
});
