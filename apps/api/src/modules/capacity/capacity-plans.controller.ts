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
import { ApiBearerAuth, ApiProperty, ApiPropertyOptional, ApiTags } from '@nestjs/swagger';
import {
  ArrayMaxSize,
  ArrayMinSize,
  IsIn,
  IsInt,
  IsNumber,
  IsObject,
  IsOptional,
  IsUUID,
  Max,
  Min,
} from 'class-validator';
import { CAPACITY_MODES, composeSpec, type CapacityMode } from '@kvplan/contracts';
import type { InputIssue } from '@kvplan/sim';
import {
  CapacityPlanRepository,
  FusionProfileRepository,
  JobRepository,
  type CapacityPlanEntity,
} from '@kvplan/db';
import { Auth, RequireRole, type AuthContext } from '../../common/auth';
import { PageQueryDto } from '../../common/paging.dto';
import { InputIssuesException } from '../../common/validation';
import { PROBE_WORKLOAD, specIssues } from '../../common/sim-port';
import { MAX_REPLICAS } from '../../common/service-limits';
import { JobQueues } from '../../infra/job-queues';
import { jobBody } from '../projections/projections.dto';
import { SpecLoader } from '../projections/spec-loader.service';
import { SpecsService } from '../specs/specs.service';

export const MAX_CAPACITY_POINTS = 200;

class CreateCapacityPlanDto {
  @ApiProperty({ format: 'uuid' })
  @IsUUID()
  workloadProfileId!: string;

  @ApiProperty({ format: 'uuid' })
  @IsUUID()
  deploymentId!: string;

  @ApiPropertyOptional({ format: 'uuid' })
  @IsOptional()
  @IsUUID()
  fusionConfigId?: string;

  @ApiProperty({
    enum: CAPACITY_MODES,
    description:
      'max-rate: highest arrival-rate multiple meeting the SLO; min-gpus: fewest replicas meeting the SLO at the profile rate; pareto: goodput and accuracy across fusion thresholds',
  })
  @IsIn(CAPACITY_MODES)
  mode!: CapacityMode;

  @ApiPropertyOptional({
    type: [Number],
    description: 'max-rate: multiples of the workload rate to try (default 0.5,1,2,4,8)',
  })
  @IsOptional()
  @ArrayMinSize(1)
  @ArrayMaxSize(MAX_CAPACITY_POINTS)
  @IsNumber({ allowNaN: false, allowInfinity: false }, { each: true })
  @Min(0.001, { each: true })
  @Max(1000, { each: true })
  rateScales?: number[];

  @ApiPropertyOptional({ type: [Number], description: 'min-gpus: replica counts to try (default 1,2,4,8)' })
  @IsOptional()
  @ArrayMinSize(1)
  @ArrayMaxSize(MAX_CAPACITY_POINTS)
  @IsInt({ each: true })
  @Min(1, { each: true })
  @Max(MAX_REPLICAS, { each: true })
  replicas?: number[];

  @ApiPropertyOptional({
    type: [Number],
    description: 'pareto: thresholds (default: the fusion config thresholds)',
  })
  @IsOptional()
  @ArrayMinSize(1)
  @ArrayMaxSize(MAX_CAPACITY_POINTS)
  @IsNumber({ allowNaN: false, allowInfinity: false }, { each: true })
  @Min(-1, { each: true })
  @Max(1, { each: true })
  thresholds?: number[];

  @ApiPropertyOptional({ type: 'object', additionalProperties: true })
  @IsOptional()
  @IsObject()
  slo?: Record<string, unknown>;
}

const planBody = (p: CapacityPlanEntity) => ({
  id: p.id,
  mode: p.mode,
  fusionProfileId: p.fusionProfileId,
  status: p.job?.status ?? null,
  job: p.job ? jobBody(p.job) : null,
  points: p.points,
  slo: p.slo,
  result: p.result,
  createdAt: p.createdAt,
  resultAt: p.resultAt,
});

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
