import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { buildSync } from 'esbuild';

/**
 * Job threads run bundled JavaScript, never the TypeScript sources through @swc-node/register as
 * the main thread does: a worker thread that has loaded SWC's native binding takes the whole
 * process down (SIGSEGV) when it ends, terminated or not (@swc/core 1.16 on Node 20; 40 threads
 * in a row crash every time). So the main thread bundles every thread entry once, with esbuild (a
 * child process: no native code in this one), the workspace libraries bundled in and npm packages
 * left to node_modules, into a folder of this process that is removed when it exits.
 */
const ENTRIES = {
  sim: 'sim/sim-thread-main.ts',
  fusion: 'fusion/fusion-thread-main.ts',
  'fusion-layer': 'fusion/fusion-layer-thread-main.ts',
} as const;
export type ThreadName = keyof typeof ENTRIES;

/** Set by the bundle's first line to the bundle's folder: code running in a job thread is there. */
const IN_BUNDLE = '__kvplanThreadBundleDir';

const PREFIX = 'kvplan-threads-';
let bundleDir: string | undefined;

/** The script a job thread of `name` runs (bundled on the first call in the main thread). */
export function threadScript(name: ThreadName): string {
  const dir = (globalThis as Record<string, unknown>)[IN_BUNDLE] as string | undefined;
  return path.join(dir ?? (bundleDir ??= bundleThreads()), `${name}.thread.js`);
}

function bundleThreads(): string {
  const workerSrc = __dirname;
  const repoRoot = path.resolve(workerSrc, '..', '..', '..');
  removeBundlesOfEndedProcesses();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `${PREFIX}${process.pid}-`));
  process.once('exit', () => fs.rmSync(dir, { recursive: true, force: true }));
  // npm packages (required or imported) resolve from the repository, as from the sources.
  fs.symlinkSync(path.join(repoRoot, 'node_modules'), path.join(dir, 'node_modules'), 'dir');
  // The workspace libraries by their own folders, so `packages: external` leaves only npm packages.
  const workspace = path.join(repoRoot, 'node_modules', '@kvplan');
  const alias = Object.fromEntries(
    fs.readdirSync(workspace).map((name) => [`@kvplan/${name}`, fs.realpathSync(path.join(workspace, name))]),
  );
  buildSync({
    entryPoints: Object.fromEntries(
      Object.entries(ENTRIES).map(([name, file]) => [`${name}.thread`, path.join(workerSrc, file)]),
    ),
    outdir: dir,
    bundle: true,
    platform: 'node',
    format: 'cjs',
    target: 'node20',
    packages: 'external',
    alias,
    tsconfig: path.join(workerSrc, '..', 'tsconfig.json'),
    banner: { js: `globalThis.${IN_BUNDLE} = __dirname;` },
    logLevel: 'error',
    logOverride: { 'unsupported-require-call': 'silent', 'unsupported-dynamic-import': 'silent' },
  });
  return dir;
}

/** Folders left by processes that ended without their exit handler (killed by a signal). */
function removeBundlesOfEndedProcesses(): void {
  for (const name of fs.readdirSync(os.tmpdir())) {
    const pid = name.startsWith(PREFIX) ? parseInt(name.slice(PREFIX.length), 10) : NaN;
    if (!pid || pid === process.pid || alive(pid)) continue;
    try {
      fs.rmSync(path.join(os.tmpdir(), name), { recursive: true, force: true });
    } catch {
      // Another user's: theirs to remove.
    }
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}
