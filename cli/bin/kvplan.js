#!/usr/bin/env node
'use strict';
// Runs the TypeScript sources directly, so `npx kvplan` works right after `npm ci`.
const path = require('node:path');
require('tsx/cjs/api').register({ tsconfig: path.join(__dirname, '..', 'tsconfig.json') });
require('../src/main.ts')
  .main(process.argv.slice(2))
  .then((code) => {
    process.exitCode = code;
  });
