'use strict';
// Worker-thread entry of the CLI's layer pool: registers tsx for the TypeScript sources, then
// serves fuse-one-layer tasks (fusion-layer-thread-main.ts).
const path = require('node:path');
require('tsx/cjs/api').register({ tsconfig: path.join(__dirname, '..', 'tsconfig.json') });
require('./fusion-layer-thread-main.ts');
