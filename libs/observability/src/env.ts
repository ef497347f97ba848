import * as fs from 'node:fs';
import * as path from 'node:path';

/**
 * The one reader of the environment for the api, the worker and the migrations: each validates
 * its variables at boot with it and refuses to start naming every bad one.
 */

/** A server-level secret: long enough not to be guessed, and printable (it travels in a header). */
const SECRET_PATTERN = /^[\x21-\x7e]{24,256}$/;

type Env = Record<string, string | undefined>;

/**
 * The storage root when STORAGE_DIR is unset: `var/storage` at the repository root (found from
 * `fromDir` upwards: the folder whose package.json declares the workspaces), so the api and the
 * worker started from their own folders share it; the working directory's when there is none.
 */
export function defaultStorageDir(fromDir: string): string {
  for (let dir = path.resolve(fromDir); ; dir = path.dirname(dir)) {
    try {
      const pkg = JSON.parse(fs.readFileSync(path.join(dir, 'package.json'), 'utf8')) as {
        workspaces?: unknown;
      };
      if (pkg.workspaces) return path.join(dir, 'var', 'storage');
    } catch {
      // no package.json here
    }
    if (path.dirname(dir) === dir) return path.resolve('var', 'storage');
  }
}

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`invalid environment:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

export class EnvReader {
  readonly problems: string[] = [];
  constructor(private readonly env: Env) {}

  url(name: string, protocols: string[], fallback?: string): string {
    const raw = this.env[name] ?? fallback;
    if (raw === undefined || raw === '') {
      this.problems.push(`${name}: required (e.g. ${protocols[0]}//host:port/...)`);
      return '';
    }
    try {
      const u = new URL(raw);
      if (!protocols.includes(u.protocol))
        this.problems.push(`${name}: expected a ${protocols.join(' or ')} URL, got "${u.protocol}"`);
    } catch {
      this.problems.push(`${name}: not a URL`);
    }
    return raw;
  }

  int(name: string, fallback: number, min: number, max = Number.MAX_SAFE_INTEGER): number {
    const raw = this.env[name];
    if (raw === undefined || raw === '') return fallback;
    const n = Number(raw);
    if (!/^-?\d+$/.test(raw.trim()) || !Number.isSafeInteger(n) || n < min || n > max) {
      this.problems.push(`${name}: expected an integer in [${min}, ${max}], got "${raw}"`);
      return fallback;
    }
    return n;
  }

  str(name: string, fallback: string, pattern?: RegExp): string {
    const raw = this.env[name];
    if (raw === undefined || raw === '') return fallback;
    if (pattern && !pattern.test(raw))
      this.problems.push(`${name}: expected to match ${pattern}, got "${raw}"`);
    return raw;
  }

  /** An optional secret (never echoed in a message): null when unset. */
  secret(name: string): string | null {
    const raw = this.env[name];
    if (raw === undefined || raw === '') return null;
    if (!SECRET_PATTERN.test(raw)) {
      this.problems.push(`${name}: expected 24 to 256 printable ASCII characters without spaces`);
      return null;
    }
    return raw;
  }

  oneOf<T extends string>(name: string, fallback: T, allowed: readonly T[]): T {
    const raw = this.env[name];
    if (raw === undefined || raw === '') return fallback;
    if (!allowed.includes(raw as T)) {
      this.problems.push(`${name}: expected one of ${allowed.join(', ')}, got "${raw}"`);
      return fallback;
    }
    return raw as T;
  }

  bool(name: string, fallback: boolean): boolean {
    const raw = this.env[name];
    if (raw === undefined || raw === '') return fallback;
    if (raw === 'true' || raw === '1') return true;
    if (raw === 'false' || raw === '0') return false;
    this.problems.push(`${name}: expected true or false, got "${raw}"`);
    return fallback;
  }

  /** STORAGE_DIR as an absolute path (default: defaultStorageDir(fromDir)). */
  storageDir(fromDir: string): string {
    const raw = this.env.STORAGE_DIR;
    return raw ? path.resolve(raw) : defaultStorageDir(fromDir);
  }

  /** The names of the comma list `name` (default `all`), each one of `all`. */
  list<T extends string>(name: string, all: readonly T[]): T[] {
    const raw = this.env[name];
    const items = (raw ?? all.join(','))
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean);
    const unknown = items.filter((q) => !all.includes(q as T));
    if (unknown.length || items.length === 0) {
      this.problems.push(`${name}: expected a comma list of ${all.join(', ')}, got "${raw}"`);
      return [...all];
    }
    return items as T[];
  }

  done(): void {
    if (this.problems.length) throw new ConfigError(this.problems);
  }
}

/** The file the api leaves in the storage root, so a worker can tell it sees the same folder. */
export const STORAGE_MARKER = '.kvplan-storage';

/**
 * Checks the storage root at boot. The api (`create`) makes it and its marker and must be able
 * to write there; a worker must be able to read and write it and is told when no api has
 * marked it (likely not the folder the api stores uploads in). Returns [fatal problems, warnings].
 */
export function checkStorageRoot(dir: string, opts: { create: boolean }): [string[], string[]] {
  const marker = path.join(dir, STORAGE_MARKER);
  try {
    if (opts.create) {
      fs.mkdirSync(dir, { recursive: true });
      if (!fs.existsSync(marker))
        fs.writeFileSync(marker, 'kvplan storage root: uploads of the api, read by the workers\n');
    }
    if (!fs.statSync(dir).isDirectory()) return [[`STORAGE_DIR: "${dir}" is not a folder`], []];
    fs.accessSync(dir, fs.constants.R_OK | fs.constants.W_OK);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const why =
      code === 'ENOENT'
        ? 'does not exist'
        : code === 'EACCES'
          ? 'is not readable and writable'
          : String(code ?? err);
    return [[`STORAGE_DIR: "${dir}" ${why} (the api and the workers must share one storage root)`], []];
  }
  const warnings = fs.existsSync(marker)
    ? []
    : [
        `STORAGE_DIR: "${dir}" has no ${STORAGE_MARKER}: no api has used this folder; uploads of an api with another STORAGE_DIR will not be found`,
      ];
  return [[], warnings];
}
