import { ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { IsInt, IsOptional, IsString, Max, MaxLength, Min } from 'class-validator';

/** Largest page offset (PostgreSQL's OFFSET is a bigint; no list is this long). */
export const MAX_OFFSET = 1_000_000_000;

export class PageQueryDto {
  @ApiPropertyOptional({ minimum: 1, maximum: 100, default: 20 })
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(100)
  limit: number = 20;

  @ApiPropertyOptional({ minimum: 0, maximum: MAX_OFFSET, default: 0 })
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(0)
  @Max(MAX_OFFSET)
  offset: number = 0;
}

export class NamedPageQueryDto extends PageQueryDto {
  @ApiPropertyOptional({ description: 'case-insensitive substring of the name' })
  @IsOptional()
  @IsString()
  @MaxLength(200)
  name?: string;
}

export interface PageDto<T> {
  items: T[];
  total: number;
  limit: number;
  offset: number;
}

/** The repository's page query of a NamedPageQueryDto. */
export const namedPage = (q: NamedPageQueryDto) => ({
  limit: q.limit,
  offset: q.offset,
  nameContains: q.name,
});
