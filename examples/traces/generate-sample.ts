/**
 * Writes examples/traces/sample.csv: 200 conversation-like requests in kvplan's trace format,
 * generated (not copied from any real trace) with a fixed seed, so running it again gives the
 * same bytes. Shapes loosely follow a chat service: Poisson arrivals at 2 req/s, log-normal
 * prompt and answer lengths, three tenants and four shared system prompts.
 *
 *   npx tsx examples/traces/generate-sample.ts
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Xoshiro128ss } from '@kvplan/core';

const N = 200;
const RATE = 2;
const rng = new Xoshiro128ss(20260501);
const tenants = ['acme', 'globex', 'initech'];
const systemPrompts = [
  { group: 'assistant', tokens: 320 },
  { group: 'support', tokens: 512 },
  { group: 'coder', tokens: 768 },
  { group: 'summarizer', tokens: 192 },
];
const rows = ['request_id,arrival_time_s,input_tokens,output_tokens,tenant,prefix_group,prefix_tokens'];
let t = 0;
for (let i = 0; i < N; i++) {
  t += rng.exponential(RATE);
  const sp = systemPrompts[rng.int(0, systemPrompts.length - 1)];
  const user = Math.round(Math.min(3000, rng.lognormal(400, 0.9)));
  const input = sp.tokens + Math.max(8, user);
  const output = Math.max(4, Math.round(Math.min(1500, rng.lognormal(180, 0.8))));
  const tenant = tenants[rng.int(0, tenants.length - 1)];
  rows.push(
    `req-${String(i).padStart(4, '0')},${t.toFixed(3)},${input},${output},${tenant},${sp.group},${sp.tokens}`,
  );
}
const out = path.join(__dirname, 'sample.csv');
fs.writeFileSync(out, rows.join('\n') + '\n');
console.log(`wrote ${N} requests over ${t.toFixed(1)} s to ${path.relative(process.cwd(), out)}`);
