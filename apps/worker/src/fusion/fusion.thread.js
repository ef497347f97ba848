'use strict';
// Worker-thread entry: registers SWC for the TypeScript sources, then runs the fusion job.
const path = require('node:path');
process.env.SWC_NODE_PROJECT =
  process.env.SWC_NODE_PROJECT || path.join(__dirname, '..', '..', 'tsconfig.json');
require('@swc-node/register');
require('./fusion-thread-main.ts');
