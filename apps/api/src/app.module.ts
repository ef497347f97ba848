import { Module, type DynamicModule } from '@nestjs/common';
import { APP_FILTER, APP_GUARD, APP_INTERCEPTOR } from '@nestjs/core';
import type { ApiConfig } from './config/config';
import { AuthGuard } from './common/auth.guard';
import { AllExceptionsFilter } from './common/exception.filter';
import { IdempotencyInterceptor } from './common/idempotency.interceptor';
import { ApiKeys } from './common/api-keys';
import { RateLimitGuard, RateLimiter } from './common/rate-limit.guard';
import { InfraModule } from './infra/infra.module';
import { CapacityPlansModule } from './modules/capacity/capacity-plans.module';
import { DashboardModule } from './modules/dashboard/dashboard.module';
import { DeploymentsModule } from './modules/deployments/deployments.module';
import { DocumentsModule } from './modules/documents/documents.module';
import { FusionConfigsModule } from './modules/fusion-configs/fusion-configs.module';
import { FusionProfilesModule } from './modules/fusion-profiles/fusion-profiles.module';
import { HealthModule } from './modules/health/health.module';
import { JobsModule } from './modules/jobs/jobs.module';
import { PresetsModule } from './modules/presets/presets.module';
import { ProjectionsModule } from './modules/projections/projections.module';
import { TracesModule } from './modules/traces/traces.module';
import { WorkloadProfilesModule } from './modules/workload-profiles/workload-profiles.module';
import { WorkspacesModule } from './modules/workspaces/workspaces.module';

/** One Nest module per feature (controller, DTOs, services); infrastructure is global. */
const FEATURES = [
  HealthModule,
  WorkspacesModule,
  WorkloadProfilesModule,
  PresetsModule,
  DeploymentsModule,
  FusionConfigsModule,
  DocumentsModule,
  TracesModule,
  ProjectionsModule,
  CapacityPlansModule,
  FusionProfilesModule,
  JobsModule,
  DashboardModule,
];

@Module({})
export class AppModule {
  static forRoot(config: ApiConfig): DynamicModule {
    return {
      module: AppModule,
      imports: [InfraModule.forRoot(config), ...FEATURES],
      providers: [
        ApiKeys,
        RateLimiter,
        // Order matters: the AuthGuard sets req.auth, then the rate limit counts per key.
        { provide: APP_GUARD, useClass: AuthGuard },
        { provide: APP_GUARD, useClass: RateLimitGuard },
        { provide: APP_INTERCEPTOR, useClass: IdempotencyInterceptor },
        { provide: APP_FILTER, useClass: AllExceptionsFilter },
      ],
    };
  }
}
