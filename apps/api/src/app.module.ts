import { Module, type DynamicModule } from '@nestjs/common';
import { APP_FILTER, APP_GUARD, APP_INTERCEPTOR } from '@nestjs/core';
import type { ApiConfig } from './config/config';
import { AuthGuard } from './common/auth.guard';
import { AllExceptionsFilter } from './common/exception.filter';
import { IdempotencyInterceptor } from './common/idempotency.interceptor';
import { ApiKeys } from './common/api-keys';
import { RateLimitGuard, RateLimiter } from './common/rate-limit.guard';
import { InfraModule } from './infra/infra.module';
import { DocumentsModule } from './modules/documents/documents.module';
import { HealthController } from './modules/health/health.controller';
import { MetricsService } from './modules/health/metrics.service';
import { JobsController } from './modules/jobs/jobs.controller';
import { JobReconciler } from './modules/jobs/job-reconciler.service';
import { ProjectionsController } from './modules/projections/projections.controller';
import { ProjectionReadCache } from './modules/projections/read-cache';
import { SpecLoader } from './modules/projections/spec-loader.service';
import { CapacityPlansController } from './modules/capacity/capacity-plans.controller';
import { FusionProfilesController } from './modules/fusion-profiles/fusion-profiles.controller';
import {
  DeploymentsController,
  FusionConfigsController,
  WorkloadProfilesController,
} from './modules/specs/specs.controllers';
import { SpecsService } from './modules/specs/specs.service';
import { TracesController } from './modules/traces/traces.controller';
import { UploadsService } from './modules/traces/uploads.service';
import { WorkspacesController } from './modules/workspaces/workspaces.controller';
import { DashboardController } from './modules/dashboard/dashboard.controller';
import { WorkersService } from './modules/dashboard/workers.service';

@Module({})
export class AppModule {
  static forRoot(config: ApiConfig): DynamicModule {
    return {
      module: AppModule,
      imports: [InfraModule.forRoot(config), DocumentsModule],
      controllers: [
        HealthController,
        WorkspacesController,
        WorkloadProfilesController,
        DeploymentsController,
        FusionConfigsController,
        TracesController,
        ProjectionsController,
        CapacityPlansController,
        FusionProfilesController,
        JobsController,
        DashboardController,
      ],
      providers: [
        SpecsService,
        SpecLoader,
        ProjectionReadCache,
        UploadsService,
        MetricsService,
        WorkersService,
        JobReconciler,
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
