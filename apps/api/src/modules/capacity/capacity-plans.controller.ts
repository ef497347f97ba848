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
import { composeSpec, deploymentSection, type CapacityMode } from '@kvplan/contracts';
import type { InputIssue } from '@kvplan/sim';
import { CapacityPlanRepository, FusionProfileRepository, JobRepository } from '@kvplan/db';
import { Auth, RequireRole, type AuthContext } from '../../common/auth';
import { PageQueryDto } from '../../common/paging.dto';
import { InputIssuesException } from '../../common/validation';
import { PROBE_WORKLOAD, specIssues } from '../../common/sim-port';
import { JobQueues } from '../../infra/job-queues';
import { SpecLoader } from '../specs/spec-loader.service';
import { SpecsService } from '../specs/specs.service';
import { answerPoints, answerSlo, type AnswerDeployment } from './answer-plan';

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
    if (dto.mode === 'answer') return this.createAnswer(auth, dto);
    const issuesOfMode: InputIssue[] = [];
    for (const k of ['deploymentIds', 'tensorParallel', 'targetRate'] as const)
      if (dto[k] !== undefined) issuesOfMode.push({ path: k, message: 'only for mode answer' });
    if (issuesOfMode.length) throw new InputIssuesException(issuesOfMode);
    const parts = await this.loader.load(auth.workspaceId, { ...dto, deploymentId: dto.deploymentId! });
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
      issues.push({ path: 'thresholds', message: 'only for modes pareto and answer' });
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
    return this.enqueue(auth, dto.mode, spec, points, slo, stored?.id ?? null);
  }

  /**
   * An answer plan: every deployment x TP degree x (no fusion + each threshold) as one point of
   * the flow, each a capacity search in the worker, aggregated into the cheapest configurations.
   */
  private async createAnswer(auth: AuthContext, dto: CreateCapacityPlanDto) {
    const ws = auth.workspaceId;
    const issues: InputIssue[] = [];
    if (dto.deploymentId !== undefined)
      issues.push({
        path: 'deploymentId',
        message: 'mode answer takes deploymentIds (the deployments to compare)',
      });
    if (!dto.deploymentIds)
      issues.push({
        path: 'deploymentIds',
        message: 'mode answer needs the deployments to compare (one per GPU type)',
      });
    if (dto.rateScales) issues.push({ path: 'rateScales', message: 'only for mode max-rate' });
    if (dto.replicas)
      issues.push({
        path: 'replicas',
        message: 'only for mode min-gpus (mode answer finds the fewest replicas itself)',
      });
    if (dto.thresholds && !dto.fusionConfigId)
      issues.push({
        path: 'thresholds',
        message: 'needs fusionConfigId (the fusion to apply at each threshold)',
      });
    if (issues.length) throw new InputIssuesException(issues);
    const ids = dto.deploymentIds!;
    const loaded = await this.loader.loadDeployments(ws, ids, 'deploymentIds');
    const parts = await this.loader.load(ws, { ...dto, deploymentId: ids[0] }, 'deploymentIds[0]');
    const fusionMode = parts.fusionConfig?.spec.mode;
    const deployments: AnswerDeployment[] = await Promise.all(
      loaded.map(async ({ deployment, docs }) => ({
        id: deployment.id,
        name: deployment.name,
        section: deploymentSection(deployment.spec, docs),
        fusionProfileId: parts.fusionConfig
          ? ((
              await this.fusionProfiles.latestBuilt(
                ws,
                parts.profile.id,
                parts.fusionConfig.id,
                deployment.id,
                fusionMode,
              )
            )?.id ?? null)
          : null,
      })),
    );
    const { slo, issue } = answerSlo(dto.slo, deployments);
    if (issue) throw new InputIssuesException([issue]);
    const spec = composeSpec(parts, { slo: slo! });
    const thresholds = dto.thresholds ?? (parts.fusionConfig?.spec.thresholds as number[] | undefined) ?? [];
    const built = answerPoints(spec, deployments, {
      thresholds,
      ...(dto.tensorParallel && { tensorParallel: dto.tensorParallel }),
      ...(dto.targetRate !== undefined && { targetRate: dto.targetRate }),
    });
    if (built.issues.length) throw new InputIssuesException(built.issues);
    const profileId = deployments.find((d) => d.fusionProfileId)?.fusionProfileId ?? null;
    return this.enqueue(auth, 'answer', spec, built.points as Array<Record<string, unknown>>, slo, profileId);
  }

  /** Stores the plan with its queued job row and queues its flow (the points, then the answer). */
  private async enqueue(
    auth: AuthContext,
    mode: CapacityMode,
    spec: Record<string, unknown>,
    points: Array<Record<string, unknown>>,
    slo: Record<string, unknown> | null,
    fusionProfileId: string | null,
  ) {
    const { plan, job } = await this.plans.createWithJob(auth.workspaceId, {
      mode,
      spec,
      points,
      slo,
      fusionProfileId,
    });
    try {
      await this.queues.enqueueCapacityPlan(
        { workspaceId: auth.workspaceId, runId: job.id, capacityPlanId: plan.id },
        points.map((_, i) => i),
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
