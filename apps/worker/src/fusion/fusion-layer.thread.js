'use strict';
// Worker-thread entry of a fusion job's layer threads: registers SWC for the TypeScript sources,
// then fuses the layers it is sent.
const path = require('node:path');
process.env.SWC_NODE_PROJECT =
  process.env.SWC_NODE_PROJECT || path.join(__dirname, '..', '..', 'tsconfig.json');
require('@swc-node/register');
require('./fusion-layer-thread-main.ts');
