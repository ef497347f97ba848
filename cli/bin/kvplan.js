#!/usr/bin/env node
'use strict';
// Runs the prebuilt bundle (cli/dist, made by `npm ci` through the root `prepare` script) when it
// is at least as new as every source it was built from; otherwise the TypeScript sources through
// tsx, saying so on stderr, so `npx kvplan` works on any checkout.
const path = require('node:path');
const { bundleState, distDir } = require('./bundle-state.js');

// KVPLAN_FROM_SOURCES=1 runs the sources even when the bundle is fresh (debugging, benchmarks).
const state = process.env.KVPLAN_FROM_SOURCES
  ? { fresh: false, reason: 'KVPLAN_FROM_SOURCES is set' }
  : bundleState();
let entry;
if (state.fresh) entry = require(path.join(distDir, 'main.js'));
else {
  process.stderr.write(
    `kvplan: running from the TypeScript sources (slower start-up): ${state.reason}; \`npm run build:cli\` rebuilds the bundle\n`,
  );
  require('tsx/cjs/api').register({ tsconfig: path.join(__dirname, '..', 'tsconfig.json') });
  entry = require('../src/main.ts');
}
entry.main(process.argv.slice(2)).then((code) => {
  process.exitCode = code;
});
