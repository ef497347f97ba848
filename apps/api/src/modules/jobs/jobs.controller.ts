import { randomBytes } from 'node:crypto';
import {
  ConflictException,
  Controller,
  Get,
  HttpCode,
  Inject,
  Injectable,
  Param,
  ParseUUIDPipe,
  Post,
  Query,
  Req,
  Sse,
  UnauthorizedException,
  UseGuards,
  type CanActivate,
  type ExecutionContext,
  type MessageEvent,
} from '@nestjs/common';
import { StreamQueryDto } from './jobs.dto';
import { ApiBearerAuth, ApiTags } from '@nestjs/swagger';
import { Redis } from 'ioredis';
import { distinctUntilChanged, from, map, switchMap, takeWhile, timer, type Observable } from 'rxjs';
import { JOB_CANCELLED, type JobProgressEvent } from '@kvplan/contracts';
import { CapacityPlanRepository, JobRepository, type JobEntity } from '@kvplan/db';
import type { ApiConfig } from '../../config/config';
import { API_CONFIG } from '../../infra/tokens';
import { Auth, Public, RequireRole, type AuthContext } from '../../common/auth';
import { JobQueues } from '../../infra/job-queues';
import { jobBody } from '../projections/projections.dto';
import { SpecsService } from '../specs/specs.service';
import { JobReconciler } from './job-reconciler.service';

const uuid = new ParseUUIDPipe();

interface StreamGrant {
  jobId: string;
  workspaceId: string;
}

const streamTokenKey = (prefix: string, token: string) => `${prefix}:stream-token:${token}`;

/**
 * Redeems a stream token (single use) before the SSE response starts, so a bad token gets a
 * plain 401 instead of an event stream.
 */
@Injectable()
export class StreamTokenGuard implements CanActivate {
  constructor(
    @Inject(Redis) private readonly redis: Redis,
    @Inject(API_CONFIG) private readonly config: ApiConfig,
  ) {}

  async canActivate(ctx: ExecutionContext): Promise<boolean> {
    const req = ctx.switchToHttp().getRequest<{
      query: Record<string, unknown>;
      params: Record<string, string>;
      streamGrant?: StreamGrant;
    }>();
    const token = typeof req.query.token === 'string' ? req.query.token : '';
    const raw = token ? await this.redis.getdel(streamTokenKey(this.config.queuePrefix, token)) : null;
    const grant = raw ? (JSON.parse(raw) as StreamGrant) : null;
    if (!grant || grant.jobId !== req.params.id)
      throw new UnauthorizedException('unknown, used or expired stream token');
    req.streamGrant = grant;
    return true;
  }
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
    private readonly queues: JobQueues,
    private readonly plans: CapacityPlanRepository,
    private readonly reconciler: JobReconciler,
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

  /**
   * Cancels the job: it ends `failed` with the error `cancelled`; a waiting run leaves its queue
   * (a capacity plan with its points), a running one is stopped by its worker within a second or
   * two. Idempotent: a finished job is returned as it is.
   */
  @Post(':id/cancel')
  @HttpCode(200)
  @ApiBearerAuth()
  @RequireRole('planner')
  async cancel(@Auth() auth: AuthContext, @Param('id', uuid) id: string) {
    const job = await this.jobs.cancel(auth.workspaceId, id);
    if (!job) throw SpecsService.notFound('job');
    if (job.error === JOB_CANCELLED) await this.queues.cancel(job.kind, job.id);
    return jobBody(job);
  }

  /**
   * Queues a failed or cancelled job again under the same id: its row goes back to queued (no
   * progress, no error) and its run to its queue (a capacity plan's flow with every point; points
   * already stored are kept, only the others run again). 409 for a job in any other state, or one
   * whose cancelled run a worker is still stopping. (Cached reads of what this changes are dropped
   * by dropCachedReadsOnWrites, as for every write.)
   */
  @Post(':id/retry')
  @HttpCode(200)
  @ApiBearerAuth()
  @RequireRole('planner')
  async retry(@Auth() auth: AuthContext, @Param('id', uuid) id: string) {
    const job = await this.jobs.get(auth.workspaceId, id);
    if (!job) throw SpecsService.notFound('job');
    const refuse = (status: string) =>
      new ConflictException(`job ${id} is ${status}: only a failed or cancelled job can be retried`);
    if (job.status !== 'failed') throw refuse(job.status);
    const points =
      job.kind === 'capacity' ? ((await this.plans.getById(job.subjectId))?.points.length ?? 0) : 0;
    if (!(await this.queues.forget(job.kind, job.id, points)))
      throw new ConflictException(
        `job ${id} was cancelled while running and its worker is still stopping it: retry in a few seconds`,
      );
    if (!(await this.jobs.requeueFailed(auth.workspaceId, id)))
      throw refuse((await this.jobs.get(auth.workspaceId, id))?.status ?? 'gone');
    // The one way a run is queued from its row (the reconciler's, for runs lost from Redis).
    await this.reconciler.requeue(job);
    return jobBody((await this.jobs.get(auth.workspaceId, id))!);
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
  @UseGuards(StreamTokenGuard)
  events(
    @Param('id', uuid) id: string,
    @Query() _q: StreamQueryDto,
    @Req() req: { streamGrant: StreamGrant },
  ): Observable<MessageEvent> {
    const grant = req.streamGrant;
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
    return streamTokenKey(this.config.queuePrefix, token);
  }
}
