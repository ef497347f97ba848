import { isInputError } from '@kvplan/fusion';
import { InputError } from '@kvplan/sim';

/**
 * Runs `f`, turning libs/fusion's FusionInputError (same shape as libs/sim's InputError) into an
 * InputError so the CLI answers exit 2 with every issue, and renaming option paths to the flags
 * the user typed (`options.chunkTokens` -> `--chunk-tokens`).
 */
export async function withFusionInput<T>(
  f: () => Promise<T> | T,
  flagOf: Record<string, string> = {},
): Promise<T> {
  try {
    return await f();
  } catch (err) {
    if (err instanceof InputError || !isInputError(err)) throw err;
    throw new InputError(
      err.issues.map((i) => {
        const m = /^options\.([A-Za-z]+)(.*)$/.exec(i.path);
        if (!m) return i;
        const flag = flagOf[m[1]] ?? `--${m[1].replace(/[A-Z]/g, (c) => '-' + c.toLowerCase())}`;
        return { path: flag + m[2], message: i.message };
      }),
    );
  }
}
