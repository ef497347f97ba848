import {
  Body,
  Controller,
  Get,
  Header,
  HttpCode,
  Param,
  ParseUUIDPipe,
  Post,
  Query,
  Res,
  ServiceUnavailableException,
} from '@nestjs/common';
import { ApiBearerAuth, ApiTags } from '@nestjs/swagger';
import { composeSpec } from '@kvplan/contracts';
import { JobRepository, ProjectionRepository } from '@kvplan/db';
import { Auth, RequireRole, type AuthContext } from '../../common/auth';
import { PageQueryDto } from '../../common/paging.dto';
import { InputIssuesException } from '../../common/validation';
import { PROBE_WORKLOAD, specIssues } from '../../common/sim-port';
import { JobQueues } from '../../infra/job-queues';
import { SpecsService } from '../specs/specs.service';
import { CreateProjectionDto, ExportQueryDto, jobBody, projectionBody, resultCsv } from './projections.dto';
import { ProjectionReadCache } from './read-cache';
import { SpecLoader } from '../specs/spec-loader.service';

const uuid = new ParseUUIDPipe();

@ApiTags('projections')
@ApiBearerAuth()
@Controller('projections')
export class ProjectionsController {
  constructor(
    private readonly loader: SpecLoader,
    private readonly specs: SpecsService,
    private readonly projections: ProjectionRepository,
    private readonly jobs: JobRepository,
    private readonly queues: JobQueues,
    private readonly readCache: ProjectionReadCache,
  ) {}

  /** Queues a projection; answers 202 with the projection and its job. */
  @Post()
  @HttpCode(202)
  @RequireRole('planner')
  async create(@Auth() auth: AuthContext, @Body() dto: CreateProjectionDto) {
    const parts = await this.loader.load(auth.workspaceId, dto);
    const spec = composeSpec(parts, { threshold: dto.threshold, seed: dto.seed, slo: dto.slo });
    // Checks deployment, fusion and SLO sections now (cheaply, with a one-request workload); the
    // stored workload was checked when saved and is materialised by the worker.
    const issues = specIssues({ ...spec, workload: PROBE_WORKLOAD });
    if (issues.length) throw new InputIssuesException(issues);
    const { projection, job } = await this.projections.createWithJob(auth.workspaceId, {
      workloadProfileId: parts.profile.id,
      deploymentId: parts.deployment.id,
      fusionConfigId: parts.fusionConfig?.id ?? null,
      spec,
    });
    try {
      await this.queues.enqueueProjection({
        workspaceId: auth.workspaceId,
        runId: job.id,
        projectionId: projection.id,
      });
    } catch (err) {
      await this.jobs.markFailed(job.id, `could not queue: ${(err as Error).message}`);
      throw new ServiceUnavailableException('the job queue is unavailable; try again');
    }
    return projectionBody(projection, job);
  }

  @Get()
  async list(@Auth() auth: AuthContext, @Query() q: PageQueryDto) {
    const p = await this.projections.list(auth.workspaceId, { limit: q.limit, offset: q.offset });
    return { ...p, items: p.items.map((x) => projectionBody(x)) };
  }

  /**
   * The projection as PostgreSQL serialised it (ProjectionRepository.readJson, the shape of
   * projectionBody): the stored result is sent as text, never parsed and re-serialised here;
   * a finished one is served from the read cache for READ_CACHE_TTL_MS.
   */
  @Get(':id')
  @Header('content-type', 'application/json; charset=utf-8')
  async get(@Auth() auth: AuthContext, @Param('id', uuid) id: string): Promise<Buffer> {
    const cached = this.readCache.get(auth.workspaceId, id);
    if (cached !== undefined) return cached;
    // Taken before the query: a write that finishes while it runs keeps this read out of the cache.
    const generation = this.readCache.generation(auth.workspaceId);
    const row = await this.projections.readJson(auth.workspaceId, id);
    if (row === null) throw SpecsService.notFound('projection');
    const body = Buffer.from(row.body, 'utf8');
    if (row.final) this.readCache.set(auth.workspaceId, id, body, generation);
    return body;
  }

  @Get(':id/export')
  @Header('cache-control', 'no-store')
  async export(
    @Auth() auth: AuthContext,
    @Param('id', uuid) id: string,
    @Query() q: ExportQueryDto,
    @Res({ passthrough: true }) reply: { header(k: string, v: string): unknown },
  ) {
    const p = await this.projections.get(auth.workspaceId, id);
    if (!p) throw SpecsService.notFound('projection');
    const name = `projection-${p.id}.${q.format}`;
    reply.header('content-disposition', `attachment; filename="${name}"`);
    if (q.format === 'csv') {
      reply.header('content-type', 'text/csv; charset=utf-8');
      return resultCsv(p.result);
    }
    return { ...projectionBody(p), job: p.job ? jobBody(p.job) : null };
  }
}
