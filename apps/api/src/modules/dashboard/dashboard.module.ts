import { Module } from '@nestjs/common';
import { HealthModule } from '../health/health.module';
import { DashboardController } from './dashboard.controller';
import { WorkersService } from './workers.service';

/** The dashboard's read models (its static files are served by dashboard.static.ts). */
@Module({ imports: [HealthModule], controllers: [DashboardController], providers: [WorkersService] })
export class DashboardModule {}
