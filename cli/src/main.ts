import { InputError, type InputIssue } from '@kvplan/sim';
import { collectArgs } from './args';
import type { Command } from './command';
import { processIo, type CliIo } from './io';
import { loadAllCommands, loadCommand } from './commands';

async function usage(): Promise<string> {
  const lines = ['Usage: kvplan <command> [options]', '', 'Commands:'];
  for (const c of await loadAllCommands()) lines.push(`  ${c.usage.padEnd(48)} ${c.summary}`);
  lines.push('', 'Run `kvplan <command> --help` for its options.');
  return lines.join('\n') + '\n';
}

function commandHelp(c: Command): string {
  const lines = [`Usage: kvplan ${c.usage}`, '', c.summary, '', 'Options:'];
  for (const [name, f] of Object.entries(c.flags)) lines.push(`  --${name.padEnd(24)} ${f.description}`);
  return lines.join('\n') + '\n';
}

/** Runs one CLI invocation in-process and returns its exit code. */
export async function main(argv: string[], io: CliIo = processIo): Promise<number> {
  const [name, ...rest] = argv;
  if (!name) {
    io.stderr(await usage());
    return 2;
  }
  if (name === '--help' || name === '-h' || name === 'help') {
    io.stdout(await usage());
    return 0;
  }
  if (name === '--version') {
    io.stdout(`${KVPLAN_VERSION}\n`);
    return 0;
  }
  const command = await loadCommand(name);
  if (!command) {
    io.stderr(`kvplan: unknown command "${name}"\n\n${await usage()}`);
    return 2;
  }
  if (rest.includes('--help') || rest.includes('-h')) {
    io.stdout(commandHelp(command));
    return 0;
  }
  try {
    const { parsed, issues } = collectArgs(rest, command.flags);
    const extra =
      command.maxPositionals === undefined ? [] : parsed.positionals.slice(command.maxPositionals);
    if (extra.length)
      issues.push({
        path: 'arguments',
        message: `unexpected: ${extra.join(' ')} (usage: kvplan ${command.usage})`,
      });
    if (issues.length) throw new InputError(issues);
    return await command.run(parsed, io);
  } catch (err) {
    const issues = inputIssues(err);
    if (issues) {
      io.stderr(
        `kvplan ${name}: bad input\n${issues.map((i) => `  - ${i.path ? i.path + ': ' : ''}${i.message}`).join('\n')}\n`,
      );
      return 2;
    }
    const e = err as Error;
    io.stderr(`kvplan ${name}: internal error: ${e?.message ?? String(err)}\n`);
    if (process.env.KVPLAN_DEBUG) io.stderr(`${e?.stack ?? ''}\n`);
    return 1;
  }
}

/** The issues of a bad-input error (libs/core's one InputError family, whichever lib threw it). */
function inputIssues(err: unknown): InputIssue[] | null {
  return err instanceof InputError ? err.issues : null;
}

export const KVPLAN_VERSION = '0.1.0';
