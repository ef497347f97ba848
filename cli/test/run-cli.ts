import { main } from '../src/main';

/** Runs one `kvplan` invocation in-process from `cwd` and returns its exit code and output. */
export async function runCli(
  argv: string[],
  cwd: string,
): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const code = await main(argv, {
    stdout: (t) => (stdout += t),
    stderr: (t) => (stderr += t),
    stderrIsTty: false,
    cwd,
  });
  return { code, stdout, stderr };
}

/** `kv synth` flags for a tiny sample (4 sequences x 4 blocks x 5 layers) that takes milliseconds. */
export const TINY_KV_FLAGS = [
  '--seqs',
  '4',
  '--blocks',
  '4',
  '--layers',
  '5',
  '--block-size',
  '8',
  '--kv-heads',
  '2',
  '--head-dim',
  '8',
];
