import { Module } from '@nestjs/common';
import { WorkspacesController } from './workspaces.controller';

/** The caller's workspace and its API keys; workspace creation with the operator key. */
@Module({ controllers: [WorkspacesController] })
export class WorkspacesModule {}
