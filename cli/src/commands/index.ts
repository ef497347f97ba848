import type { Command } from '../command';
import { simulateCommand } from './simulate';
import { modelsCommand } from './models';
import { gpusCommand } from './gpus';

/** Every `kvplan` subcommand, in the order `kvplan --help` lists them. */
export const commands: Command[] = [simulateCommand, modelsCommand, gpusCommand];
