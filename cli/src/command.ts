import type { FlagSpec, ParsedArgs } from './args';
import type { CliIo } from './io';

/** One `kvplan` subcommand. `run` returns the exit code: 0 done, 2 bad input, 1 internal error. */
export interface Command {
  name: string;
  usage: string;
  summary: string;
  flags: Record<string, FlagSpec>;
  /** Most positional arguments the command takes (more are refused with the flags' problems); unset: it checks them itself. */
  maxPositionals?: number;
  run(args: ParsedArgs, io: CliIo): Promise<number>;
}
