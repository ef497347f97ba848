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
import { ApiBearerAuth, ApiTags } from '@nestjs/swagger';
import { FUSION_PROFILE_DEFAULTS, FUSION_PROFILE_LIMITS } from '@kvplan/contracts';
import { FusionProfileRepository, JobRepository } from '@kvplan/db';
import { Auth, RequireRole, type AuthContext } from '../../common/auth';
import { InputIssuesException } from '../../common/validation';
import { JobQueues } from '../../infra/job-queues';
import { SpecLoader } from '../specs/spec-loader.service';
import { SpecsService } from '../specs/specs.service';
import { CreateFusionProfileDto, FusionProfileListQuery, fusionProfileBody } from './fusion-profiles.dto';

const uuid = new ParseUUIDPipe();

/**
 * Fusion profiles of a workload: `POST` queues the fusion job (sample the workload's requests,
 * obtain their KV cache, run BFF/CFF at the fusion config's thresholds and batch sizes) and
 * answers 202; projections of that workload with that fusion config then use the stored profile.
 */
@ApiTags('fusion-profiles')
@ApiBearerAuth()
@Controller('fusion-profiles')
export class FusionProfilesController {
  constructor(
    private readonly loader: SpecLoader,
    private readonly profiles: FusionProfileRepository,
    private readonly jobs: JobRepository,
    private readonly queues: JobQueues,
  ) {}

  @Post()
  @HttpCode(202)
  @RequireRole('planner')
  async create(@Auth() auth: AuthContext, @Body() dto: CreateFusionProfileDto) {
    const parts = await this.loader.load(auth.workspaceId, dto);
    const batchSizes = (parts.fusionConfig!.spec.batchSizes as number[] | undefined) ?? [];
    const largest = Math.max(0, ...batchSizes);
    if (largest > FUSION_PROFILE_LIMITS.maxSampleSize)
      throw new InputIssuesException([
        {
          path: 'fusionConfigId',
          message: `the fusion config's batch size ${largest} is larger than the ${FUSION_PROFILE_LIMITS.maxSampleSize} requests a fusion job samples at most`,
        },
      ]);
    const { fusionProfile, job } = await this.profiles.createWithJob(auth.workspaceId, {
      workloadProfileId: dto.workloadProfileId,
      fusionConfigId: dto.fusionConfigId,
      deploymentId: dto.deploymentId,
      options: {
        sampleSize: dto.sampleSize ?? FUSION_PROFILE_DEFAULTS.sampleSize,
        seed: dto.seed ?? FUSION_PROFILE_DEFAULTS.seed,
        maxPromptTokens: dto.maxPromptTokens ?? FUSION_PROFILE_DEFAULTS.maxPromptTokens,
      },
    });
    try {
      await this.queues.enqueueFusionProfile({
        workspaceId: auth.workspaceId,
        runId: job.id,
        fusionProfileId: fusionProfile.id,
      });
    } catch (err) {
      await this.jobs.markFailed(job.id, `could not queue: ${(err as Error).message}`);
      throw new ServiceUnavailableException('the job queue is unavailable; try again');
    }
    return fusionProfileBody(fusionProfile, job);
  }

  /** Newest first; the profile documents themselves only at GET /fusion-profiles/:id. */
  @Get()
  async list(@Auth() auth: AuthContext, @Query() q: FusionProfileListQuery) {
    const p = await this.profiles.list(auth.workspaceId, q);
    return { ...p, items: p.items.map((f) => fusionProfileBody(f, undefined, false)) };
  }

  @Get(':id')
  async get(@Auth() auth: AuthContext, @Param('id', uuid) id: string) {
    const f = await this.profiles.get(auth.workspaceId, id);
    if (!f) throw SpecsService.notFound('fusion profile');
    return fusionProfileBody(f);
  }
}
