import { randomBytes } from 'node:crypto';
import {
  Controller,
  Get,
  Inject,
  Param,
  ParseUUIDPipe,
  Post,
  Query,
  Sse,
  UnauthorizedException,
  type MessageEvent,
} from '@nestjs/common';
import { ApiBearerAuth, ApiTags } from '@nestjs/swagger';
import { IsString, Length } from 'class-validator';
import { Redis } from 'ioredis';
import { distinctUntilChanged, from, map, switchMap, takeWhile, timer, type Observable } from 'rxjs';
import type { JobProgressEvent } from '@kvplan/contracts';
import { JobRepository, type JobEntity } from '@kvplan/db';
import type { ApiConfig } from '../../config/config';
import { API_CONFIG } from '../../infra/tokens';
import { Auth, Public, type AuthContext } from '../../common/auth';
import { jobBody } from '../projections/projections.dto';
import { SpecsService } from '../specs/specs.service';

const uuid = new ParseUUIDPipe();

export class StreamQueryDto {
  @IsString()
  @Length(20, 100)
  token!: string;
}

/**
 * Job status, and a server-sent-events stream of its progress. Browsers' EventSource cannot send
 * an Authorization header, so the stream takes a short-lived, single-use token obtained with the
 * API key (POST /jobs/:id/stream-token): the key itself never appears in a URL or a log.
 */
@ApiTags('jobs')
@Controller('jobs')
export class JobsController {
  constructor(
    private readonly jobs: JobRepository,
    @Inject(Redis) private readonly redis: Redis,
    @Inject(API_CONFIG) private readonly config: ApiConfig,
  ) {}

  @Get(':id')
  @ApiBearerAuth()
  async get(@Auth() auth: AuthContext, @Param('id', uuid) id: string) {
    const job = await this.jobs.get(auth.workspaceId, id);
    if (!job) throw SpecsService.notFound('job');
    return jobBody(job);
  }

  @Post(':id/stream-token')
  @ApiBearerAuth()
  async streamToken(@Auth() auth: AuthContext, @Param('id', uuid) id: string) {
    const job = await this.jobs.get(auth.workspaceId, id);
    if (!job) throw SpecsService.notFound('job');
    const token = randomBytes(24).toString('base64url');
    const ttl = this.config.streamTokenTtlS;
    await this.redis.set(
      this.tokenKey(token),
      JSON.stringify({ jobId: id, workspaceId: auth.workspaceId }),
      'EX',
      ttl,
    );
    return { token, expiresInS: ttl, url: `/api/v1/jobs/${id}/events?token=${token}` };
  }

  @Sse(':id/events')
  @Public()
  async events(@Param('id', uuid) id: string, @Query() q: StreamQueryDto): Promise<Observable<MessageEvent>> {
    const raw = await this.redis.getdel(this.tokenKey(q.token));
    const grant = raw ? (JSON.parse(raw) as { jobId: string; workspaceId: string }) : null;
    if (!grant || grant.jobId !== id)
      throw new UnauthorizedException('unknown, used or expired stream token');
    const toEvent = (j: JobEntity): JobProgressEvent => ({
      jobId: j.id,
      status: j.status,
      progress: j.progress,
      error: j.error,
    });
    return timer(0, 500).pipe(
      switchMap(() => from(this.jobs.get(grant.workspaceId, id))),
      map((j) =>
        j ? toEvent(j) : { jobId: id, status: 'failed' as const, progress: 0, error: 'job deleted' },
      ),
      distinctUntilChanged((a, b) => a.status === b.status && a.progress === b.progress),
      takeWhile((e) => e.status === 'queued' || e.status === 'running', true),
      map((e) => ({ data: e, type: 'progress' })),
    );
  }

  private tokenKey(token: string): string {
    return `${this.config.queuePrefix}:stream-token:${token}`;
  }
}
