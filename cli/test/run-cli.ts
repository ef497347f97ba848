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
