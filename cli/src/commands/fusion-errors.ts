import { InputError } from '@kvplan/core';

/**
 * Runs `f`, renaming the option paths of libs/fusion's input errors to the flags the user
 * typed (`options.chunkTokens` -> `--chunk-tokens`); main.ts answers any such error with exit 2.
 */
export async function withFusionInput<T>(
  f: () => Promise<T> | T,
  flagOf: Record<string, string> = {},
): Promise<T> {
  try {
    return await f();
  } catch (err) {
    if (!(err instanceof InputError)) throw err;
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
