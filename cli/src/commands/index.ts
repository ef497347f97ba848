import type { Command } from '../command';
import { simulateCommand } from './simulate';

/** Every `kvplan` subcommand, in the order `kvplan --help` lists them. */
export const commands: Command[] = [simulateCommand];
