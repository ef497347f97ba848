// Bundles the `kvplan` CLI into cli/dist (git-ignored; run by the root `prepare` script, so
// `npm ci` builds it): one CommonJS file for the entry point and one per command, so a command
// loads only its own code. The workspace libraries are bundled in; every npm package (tfjs and
// its wasm backend with their .wasm files, onnxruntime-node, TypeORM, yaml, ...) and every Node
// built-in stays external and is loaded from node_modules as usual.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { createRequire } from 'node:module';
import * as esbuild from 'esbuild';

const require = createRequire(import.meta.url);
const { cliDir, repoRoot, distDir, manifestFile } = require('../bin/bundle-state.js');

const startedAtMs = Date.now();
const src = path.join(cliDir, 'src');
// The command list is the one the CLI itself uses (commands/index.ts), so the two cannot drift.
const index = fs.readFileSync(path.join(src, 'commands', 'index.ts'), 'utf8');
const commands = [...index.matchAll(/load<[^>]*>\('\.\/([\w-]+)'/g)].map((m) => m[1]);
if (commands.length === 0) throw new Error('no commands found in cli/src/commands/index.ts');
const entryPoints = {
  main: path.join(src, 'main.ts'),
  ...Object.fromEntries(commands.map((c) => [c, path.join(src, 'commands', `${c}.ts`)])),
  ...workerEntries(),
};

/** Worker-thread entry files (`*.thread.ts` under cli/src): bundled beside the commands that start them. */
function workerEntries() {
  return Object.fromEntries(
    fs
      .readdirSync(src)
      .filter((f) => f.endsWith('.thread.ts'))
      .map((f) => [f.replace(/\.ts$/, ''), path.join(src, f)]),
  );
}

const externalPackages = {
  name: 'external-packages',
  setup(build) {
    build.onResolve({ filter: /^[^./]/ }, (args) =>
      args.path.startsWith('@kvplan/') ? undefined : { path: args.path, external: true },
    );
  },
};

/**
 * The libraries' JSON data (fitted kernel curves, calibration coefficients, residuals) as
 * `JSON.parse` of one string: V8 parses JSON text several times faster than it compiles the
 * equivalent object literal, and the kernel curves are some 40,000 numbers that every simulating
 * command loads at start-up.
 */
const jsonAsParse = {
  name: 'json-as-parse',
  setup(build) {
    build.onLoad({ filter: /\.json$/ }, (args) => {
      if (args.path.includes(`${path.sep}node_modules${path.sep}`)) return undefined;
      const text = JSON.stringify(JSON.parse(fs.readFileSync(args.path, 'utf8')));
      return { contents: `module.exports = JSON.parse(${JSON.stringify(text)});`, loader: 'js' };
    });
  },
};

fs.rmSync(distDir, { recursive: true, force: true });
const result = await esbuild.build({
  entryPoints,
  outdir: distDir,
  bundle: true,
  platform: 'node',
  format: 'cjs',
  target: 'node20',
  absWorkingDir: repoRoot,
  tsconfig: path.join(cliDir, 'tsconfig.json'),
  plugins: [externalPackages, jsonAsParse],
  metafile: true,
  logLevel: 'error',
  logOverride: { 'unsupported-require-call': 'silent', 'unsupported-dynamic-import': 'silent' },
});
const inputs = Object.keys(result.metafile.inputs).filter((f) => !f.includes('node_modules/'));
fs.writeFileSync(manifestFile, JSON.stringify({ startedAtMs, inputs }, null, 1) + '\n');
const bytes = Object.values(result.metafile.outputs).reduce((s, o) => s + o.bytes, 0);
process.stderr.write(
  `kvplan: bundled ${commands.length} commands from ${inputs.length} source files into cli/dist (${(bytes / 1024).toFixed(0)} KiB)\n`,
);
