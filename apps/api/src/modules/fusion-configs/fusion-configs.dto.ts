import { ApiProperty, ApiPropertyOptional, PartialType } from '@nestjs/swagger';
import {
  ArrayMaxSize,
  ArrayMinSize,
  IsBoolean,
  IsIn,
  IsInt,
  IsNumber,
  IsOptional,
  Max,
  Min,
} from 'class-validator';
import { NamedDto } from '../../common/named.dto';

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

export class UpdateFusionConfigDto extends PartialType(CreateFusionConfigDto) {}
