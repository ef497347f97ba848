import {
  Body,
  Controller,
  Get,
  HttpCode,
  Param,
  ParseUUIDPipe,
  Post,
  Query,
  ServiceUnavailableException,
} from '@nestjs/common';
import { CreateCapacityPlanDto, planBody } from './capacity-plans.dto';
import { ApiBearerAuth, ApiTags } from '@nestjs/swagger';
import { composeSpec } from '@kvplan/contracts';
import type { InputIssue } from '@kvplan/sim';
import { CapacityPlanRepository, FusionProfileRepository, JobRepository } from '@kvplan/db';
import { Auth, RequireRole, type AuthContext } from '../../common/auth';
import { PageQueryDto } from '../../common/paging.dto';
import { InputIssuesException } from '../../common/validation';
import { PROBE_WORKLOAD, specIssues } from '../../common/sim-port';
import { JobQueues } from '../../infra/job-queues';
import { SpecLoader } from '../specs/spec-loader.service';
import { SpecsService } from '../specs/specs.service';

@ApiTags('capacity plans')
@ApiBearerAuth()
@Controller('capacity-plans')
export class CapacityPlansController {
  constructor(
    private readonly loader: SpecLoader,
    private readonly specs: SpecsService,
    private readonly plans: CapacityPlanRepository,
    private readonly fusionProfiles: FusionProfileRepository,
    private readonly jobs: JobRepository,
    private readonly queues: JobQueues,
  ) {}

  @Post()
  @HttpCode(202)
  @RequireRole('planner')
  async create(@Auth() auth: AuthContext, @Body() dto: CreateCapacityPlanDto) {
    const parts = await this.loader.load(auth.workspaceId, dto);
    const spec = composeSpec(parts, { slo: dto.slo });
    const issues: InputIssue[] = [];
    const slo = (spec.slo as Record<string, unknown> | undefined) ?? null;
    if (dto.mode !== 'pareto' && !slo)
      issues.push({ path: 'slo', message: `mode ${dto.mode} needs an SLO (here or on the deployment)` });
    if (dto.mode === 'pareto' && !parts.fusionConfig)
      issues.push({ path: 'fusionConfigId', message: 'mode pareto needs a fusion config' });
    if (dto.rateScales && dto.mode !== 'max-rate')
      issues.push({ path: 'rateScales', message: 'only for mode max-rate' });
    if (dto.replicas && dto.mode !== 'min-gpus')
      issues.push({ path: 'replicas', message: 'only for mode min-gpus' });
    if (dto.thresholds && dto.mode !== 'pareto')
      issues.push({ path: 'thresholds', message: 'only for mode pareto' });
    if (!issues.length) issues.push(...specIssues({ ...spec, workload: PROBE_WORKLOAD }));
    if (issues.length) throw new InputIssuesException(issues);

    let points: Array<Record<string, unknown>>;
    if (dto.mode === 'max-rate')
      points = (dto.rateScales ?? [0.5, 1, 2, 4, 8]).map((rateScale) => ({ rateScale }));
    else if (dto.mode === 'min-gpus')
      points = (dto.replicas ?? [1, 2, 4, 8]).map((replicas) => ({ replicas }));
    else {
      const ts = dto.thresholds ?? (parts.fusionConfig!.spec.thresholds as number[]) ?? [];
      points = [{ threshold: null }, ...ts.map((threshold) => ({ threshold }))];
    }
    // Every point simulates with the fusion profile built for this workload and fusion config
    // (the one for this deployment preferred), as projections do; none built: the parametric one.
    const fusionMode = (spec.fusion as Record<string, unknown> | undefined)?.mode;
    const stored = parts.fusionConfig
      ? await this.fusionProfiles.latestBuilt(
          auth.workspaceId,
          parts.profile.id,
          parts.fusionConfig.id,
          parts.deployment.id,
          fusionMode,
        )
      : null;
    const { plan, job } = await this.plans.createWithJob(auth.workspaceId, {
      mode: dto.mode,
      spec,
      points,
      slo,
      fusionProfileId: stored?.id ?? null,
    });
    try {
      await this.queues.enqueueCapacityPlan(
        { workspaceId: auth.workspaceId, runId: job.id, capacityPlanId: plan.id },
        points.length,
      );
    } catch (err) {
      await this.jobs.markFailed(job.id, `could not queue: ${(err as Error).message}`);
      throw new ServiceUnavailableException('the job queue is unavailable; try again');
    }
    return planBody({ ...plan, job });
  }

  @Get()
  async list(@Auth() auth: AuthContext, @Query() q: PageQueryDto) {
    const p = await this.plans.list(auth.workspaceId, q);
    return { ...p, items: p.items.map(planBody) };
  }

  @Get(':id')
  async get(@Auth() auth: AuthContext, @Param('id', new ParseUUIDPipe()) id: string) {
    const p = await this.plans.get(auth.workspaceId, id);
    if (!p) throw SpecsService.notFound('capacity plan');
    return planBody(p);
  }
}
