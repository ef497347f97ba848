import { ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { IsInt, IsOptional, Max, Min } from 'class-validator';
import {
  defaultEngineLimits,
  kvBytesPerToken,
  parameterCounts,
  tensorParallelProblem,
  weightBytes,
  type GpuSpec,
  type ModelArch,
} from '@kvplan/sim';
import { NamedPageQueryDto, type PageDto } from '../../common/paging.dto';

/** The tensor-parallel degrees a deployment form offers (vLLM's rules then narrow them per model). */
export const TP_CHOICES = [1, 2, 4, 8, 16] as const;

export class ModelsQueryDto extends NamedPageQueryDto {}

export class GpusQueryDto extends NamedPageQueryDto {
  @ApiPropertyOptional({ minimum: 1, maximum: 4096, description: 'only GPUs with at least this many GiB' })
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(4096)
  minMemoryGiB?: number;
}

/** A model preset as the api lists it: the architecture, its sizes and the TP degrees it allows. */
export function modelPresetBody(m: ModelArch) {
  const counts = parameterCounts(m);
  return {
    ...m,
    parametersTotal: counts.total,
    parametersActivePerToken: counts.activePerToken,
    weightBytes: weightBytes(m),
    kvBytesPerToken: kvBytesPerToken(m, 'auto'),
    tensorParallelOptions: TP_CHOICES.filter((tp) => tensorParallelProblem(m, tp) === null),
  };
}

/** A GPU preset as the api lists it, with vLLM's engine defaults for its class. */
export function gpuPresetBody(g: GpuSpec) {
  return { ...g, engineDefaults: defaultEngineLimits(g) };
}

/** One page of a preset table, filtered by a case-insensitive substring of its id or name. */
export function presetPage<T extends { id: string; name?: string }, B>(
  rows: T[],
  q: NamedPageQueryDto,
  body: (row: T) => B,
): PageDto<B> {
  const needle = q.name?.toLowerCase();
  const hits = needle ? rows.filter((r) => `${r.id} ${r.name ?? ''}`.toLowerCase().includes(needle)) : rows;
  return {
    items: hits.slice(q.offset, q.offset + q.limit).map(body),
    total: hits.length,
    limit: q.limit,
    offset: q.offset,
  };
}
