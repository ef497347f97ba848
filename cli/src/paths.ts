import * as fs from 'node:fs';
import * as path from 'node:path';
import { InputError, type InputIssue } from '@kvplan/sim';

/**
 * What is wrong with `file` as an input of `label` (a flag or argument name): missing, a
 * directory, or unreadable. Null when it can be read.
 */
export function inputFileIssue(file: string, cwd: string, label: string): InputIssue | null {
  const full = path.resolve(cwd, file);
  let st: fs.Stats;
  try {
    st = fs.statSync(full);
  } catch {
    return { path: label, message: `no such file: ${file}` };
  }
  if (st.isDirectory()) return { path: label, message: `${file} is a directory, expected a file` };
  if (!st.isFile()) return { path: label, message: `${file} is not a regular file` };
  try {
    fs.accessSync(full, fs.constants.R_OK);
  } catch {
    return { path: label, message: `${file} is not readable` };
  }
  return null;
}

/**
 * What is wrong with `file` as an output of `label`: an existing directory, a parent that is a
 * file, or a place this process may not write. Checked before any work, so a long run never ends
 * in a write error.
 */
export function outputFileIssue(file: string, cwd: string, label: string): InputIssue | null {
  const full = path.resolve(cwd, file);
  if (file === '' || file.endsWith('/'))
    return { path: label, message: `expected a file name, got "${file}"` };
  const st = statOrNull(full);
  if (st?.isDirectory()) return { path: label, message: `${file} is a directory, expected a file name` };
  if (st && !st.isFile())
    return {
      path: label,
      message: `${file} is not a regular file (outputs are written whole and renamed into place)`,
    };
  if (st && !writable(full)) return { path: label, message: `${file} is not writable` };
  // Outputs are written beside their place and renamed over it (writeFileAtomic): the nearest
  // existing ancestor must be a directory that takes a new file (missing ones are created).
  let dir = path.dirname(full);
  for (;;) {
    const d = statOrNull(dir);
    if (d) {
      if (!d.isDirectory())
        return { path: label, message: `cannot create ${file}: ${path.relative(cwd, dir) || dir} is a file` };
      return writable(dir) ? null : { path: label, message: `cannot create ${file}: ${dir} is not writable` };
    }
    const up = path.dirname(dir);
    if (up === dir) return null;
    dir = up;
  }
}

/** Throws every issue at once (exit 2), or returns. */
export function throwIssues(issues: Array<InputIssue | null>): void {
  const found = issues.filter((i): i is InputIssue => i !== null);
  if (found.length) throw new InputError(found);
}

/** Positional arguments beyond the `expected` ones, as an issue. */
export function strayArguments(positionals: string[], expected: number): InputIssue | null {
  const extra = positionals.slice(expected);
  return extra.length ? { path: 'arguments', message: `unexpected: ${extra.join(' ')}` } : null;
}

function statOrNull(p: string): fs.Stats | null {
  try {
    return fs.statSync(p);
  } catch {
    return null;
  }
}

/**
 * Whether this process can write `p`: an existing file is opened for writing (not truncated), a
 * directory gets a probe file created and removed at once. Trying is the only reliable test:
 * access(2) says yes to root even where the file system refuses.
 */
function writable(p: string): boolean {
  try {
    if (fs.statSync(p).isDirectory()) {
      const probe = path.join(p, `.kvplan-write-check-${process.pid}`);
      fs.closeSync(fs.openSync(probe, 'wx'));
      fs.rmSync(probe, { force: true });
    } else fs.closeSync(fs.openSync(p, 'r+'));
    return true;
  } catch {
    return false;
  }
}
