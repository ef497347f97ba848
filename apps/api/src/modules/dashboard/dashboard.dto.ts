import { ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { IsIn, IsInt, IsOptional, Max, Min } from 'class-validator';
import { JOB_KINDS, JOB_STATUSES, type JobKind, type JobStatus } from '@kvplan/contracts';

export class RecentJobsQueryDto {
  @ApiPropertyOptional({ minimum: 1, maximum: 200, default: 50 })
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(200)
  limit = 50;

  @ApiPropertyOptional({ enum: JOB_STATUSES })
  @IsOptional()
  @IsIn(JOB_STATUSES)
  status?: JobStatus;

  @ApiPropertyOptional({ enum: JOB_KINDS, description: 'The queue (job kind): simulate, capacity or fusion' })
  @IsOptional()
  @IsIn(JOB_KINDS)
  kind?: JobKind;
}

/**
 * Read models of the ops dashboard (served at `/`): light lists with names resolved, the queues'
 * and workers' state, stored fusion profiles, and a workload profile's histograms. Any role may
 * read them; they see only their workspace's rows (queue counts and workers are service-wide).
 */
