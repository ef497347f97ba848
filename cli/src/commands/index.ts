import type { Command } from '../command';
import { capacityCommand } from './capacity';
import { simulateCommand } from './simulate';
import { modelsCommand } from './models';
import { gpusCommand } from './gpus';

/** Every `kvplan` subcommand, in the order `kvplan --help` lists them. */
export const commands: Command[] = [simulateCommand, capacityCommand, modelsCommand, gpusCommand];
