// Writes docs/spec-reference.md from the spec table the validator uses (npm run docs:spec).
// libs/sim/test/spec-reference.spec.ts fails when the file is stale.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { specReferenceMarkdown } from '@kvplan/sim';

const out = path.join(__dirname, '..', 'docs', 'spec-reference.md');
fs.writeFileSync(out, specReferenceMarkdown());
process.stdout.write(`wrote ${path.relative(process.cwd(), out)}\n`);
