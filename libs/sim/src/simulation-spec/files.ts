import * as fs from 'node:fs';

/**
 * Which fields of a spec may name files. The CLI reads every kind (paths relative to the spec);
 * a service reads none of a request's: there a string is only ever a preset name, decided by the
 * same resolver that would otherwise have read the file, so no second notion of "what is a path"
 * exists to disagree with it.
 */
export type SpecFileKind = 'model' | 'calibration' | 'trace' | 'empirical' | 'profile';

export const ALL_SPEC_FILE_KINDS: readonly SpecFileKind[] = [
  'model',
  'calibration',
  'trace',
  'empirical',
  'profile',
];

/** The message for a string that would be read as a file where files are not read. */
export const FILES_NOT_READ = 'file paths are not read here';

/**
 * The most a file named in a spec may hold, read whole or decompressed (a trace of the 20M
 * requests a spec may hold is about 500 MB of CSV; JavaScript strings end at 512 MiB).
 */
export const MAX_SPEC_FILE_BYTES = 512 * 2 ** 20;

/**
 * Reads a file named in a spec, whole: only a regular file (a directory, device, FIFO or socket
 * could block or never end), at most MAX_SPEC_FILE_BYTES. A problem comes back, never thrown, as
 * a predicate for the caller to put after the file's name ("does not exist").
 */
export function readSpecFile(full: string): { data: Buffer } | { problem: string } {
  let st: fs.Stats;
  try {
    st = fs.statSync(full);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    return { problem: code === 'ENOENT' ? 'does not exist' : `cannot be read (${code})` };
  }
  if (st.isDirectory()) return { problem: 'is a directory, expected a file' };
  if (!st.isFile()) return { problem: 'is not a regular file (a device, FIFO or socket is never read)' };
  if (st.size > MAX_SPEC_FILE_BYTES)
    return { problem: `holds ${st.size} bytes, more than the ${MAX_SPEC_FILE_BYTES} a spec file may` };
  try {
    return { data: fs.readFileSync(full) };
  } catch (err) {
    return { problem: `cannot be read (${(err as NodeJS.ErrnoException).code ?? String(err)})` };
  }
}
