import type { Command } from '../command';

/** Every `kvplan` subcommand, in the order `kvplan --help` lists them. */
export const commands: Command[] = [];
