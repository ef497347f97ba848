import * as path from 'node:path';
import { Controller, Get, Inject, Param, ParseUUIDPipe, Query } from '@nestjs/common';
import { RecentJobsQueryDto } from './dashboard.dto';
import { ApiBearerAuth, ApiTags } from '@nestjs/swagger';
import { composeWorkload } from '@kvplan/contracts';
import { DashboardRepository, TraceRepository, WorkloadProfileRepository } from '@kvplan/db';
import { InputError, loadWorkload } from '@kvplan/sim';
import type { ApiConfig } from '../../config/config';
import { API_CONFIG } from '../../infra/tokens';
import { JobQueues } from '../../infra/job-queues';
import { Auth, type AuthContext } from '../../common/auth';
import { PageQueryDto } from '../../common/paging.dto';
import { InputIssuesException } from '../../common/validation';
import { SpecsService } from '../specs/specs.service';
import { workloadHistograms, type WorkloadHistograms } from './workload-histograms';
import { WorkersService } from './workers.service';

const uuid = new ParseUUIDPipe();

@ApiTags('dashboard')
@ApiBearerAuth()
@Controller('dashboard')
export class DashboardController {
  private readonly histogramCache = new Map<string, { key: string; value: WorkloadHistograms }>();

  constructor(
    private readonly repo: DashboardRepository,
    private readonly queues: JobQueues,
    private readonly workers: WorkersService,
    private readonly profiles: WorkloadProfileRepository,
    private readonly traces: TraceRepository,
    @Inject(API_CONFIG) private readonly config: ApiConfig,
  ) {}

  @Get('overview')
  async overview(@Auth() auth: AuthContext) {
    const [jobs, queues, workers] = await Promise.all([
      this.repo.jobCounts(auth.workspaceId),
      this.queues.counts(),
      this.workers.live(),
    ]);
    return { jobs, queues, workers };
  }

  @Get('projections')
  async projections(@Auth() auth: AuthContext, @Query() q: PageQueryDto) {
    const p = await this.repo.projectionSummaries(auth.workspaceId, q.limit, q.offset);
    return { ...p, limit: q.limit, offset: q.offset };
  }

  @Get('jobs')
  async jobs(@Auth() auth: AuthContext, @Query() q: RecentJobsQueryDto) {
    return {
      items: await this.repo.recentJobs(
        auth.workspaceId,
        q.limit,
        q.status ? [q.status] : undefined,
        q.kind ? [q.kind] : undefined,
      ),
    };
  }

  @Get('fusion-profiles')
  async fusionProfiles(@Auth() auth: AuthContext, @Query() q: PageQueryDto) {
    const p = await this.repo.fusionProfiles(auth.workspaceId, q.limit, q.offset);
    return { ...p, limit: q.limit, offset: q.offset };
  }

  @Get('fusion-profiles/:id')
  async fusionProfile(@Auth() auth: AuthContext, @Param('id', uuid) id: string) {
    const p = await this.repo.fusionProfiles(auth.workspaceId, 1, 0, id);
    if (!p.items.length) throw SpecsService.notFound('fusion profile');
    return p.items[0];
  }

  /** Arrival-rate and length histograms of the profile's workload (generated with seed 1, or its trace). */
  @Get('workload-profiles/:id/histograms')
  async histograms(@Auth() auth: AuthContext, @Param('id', uuid) id: string): Promise<WorkloadHistograms> {
    const profile = await this.profiles.get(auth.workspaceId, id);
    if (!profile) throw SpecsService.notFound('workload profile');
    const key = `${profile.updatedAt.toISOString()}:${profile.traceId ?? ''}`;
    const hit = this.histogramCache.get(id);
    if (hit && hit.key === key) return hit.value;
    const trace = profile.traceId ? await this.traces.get(auth.workspaceId, profile.traceId) : null;
    if (profile.traceId && !trace) throw SpecsService.notFound('trace');
    let value: WorkloadHistograms;
    try {
      // Only the trace the service stored is read (files: trace); the profile's own keys were checked.
      const workload = loadWorkload(composeWorkload(profile, trace), {
        baseDir: path.resolve(this.config.storageDir),
        seed: 1,
        path: 'workload',
        files: ['trace'],
      });
      value = workloadHistograms(workload);
    } catch (err) {
      if (err instanceof InputError) throw new InputIssuesException(err.issues);
      throw err;
    }
    if (this.histogramCache.size > 200) this.histogramCache.clear();
    this.histogramCache.set(id, { key, value });
    return value;
  }
}
