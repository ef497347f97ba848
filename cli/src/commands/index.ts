import type { Command } from '../command';
import { calibrateCommand } from './calibrate';
import { capacityCommand } from './capacity';
import { compareCommand } from './compare';
import { planCommand } from './plan';
import { simulateCommand } from './simulate';
import { modelsCommand } from './models';
import { gpusCommand } from './gpus';
import { fuseCommand } from './fuse';
import { kvCommand } from './kv';
import { adminCommand } from './admin';
import { modelCommand } from './model';

/** Every `kvplan` subcommand, in the order `kvplan --help` lists them. */
export const commands: Command[] = [
  planCommand,
  simulateCommand,
  capacityCommand,
  compareCommand,
  calibrateCommand,
  modelsCommand,
  gpusCommand,
  fuseCommand,
  kvCommand,
  modelCommand,
  adminCommand,
];
