// No field of any route makes the service read a server file: models, GPUs and calibrations are
// presets, inline objects or ids of uploaded documents; the answer never quotes a file and is the
// same whether the path exists or not. (The api in-process against the real PostgreSQL and Redis.)
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_TIME_MODEL } from '@kvplan/sim';
import { inProcessApi, type InProcessApi } from './support/in-process';

const SECRET = 'TOP-SECRET-FILE-CONTENT';
const secretDir = fs.mkdtempSync(path.join(os.tmpdir(), 'kvplan-secret-'));
const secretFile = path.join(secretDir, 'config.json');
fs.writeFileSync(
  secretFile,
  JSON.stringify({
    num_hidden_layers: 2,
    hidden_size: 64,
    num_attention_heads: 4,
    intermediate_size: 128,
    vocab_size: 10,
    max_position_embeddings: 64,
    secret: SECRET,
  }),
);

let api: InProcessApi;
let app: InProcessApi['app'];
let key = '';

beforeAll(async () => {
  api = await inProcessApi('nofiles');
  ({ app, key } = api);
}, 90_000);

afterAll(async () => {
  await api?.close();
  fs.rmSync(secretDir, { recursive: true, force: true });
});

async function post(url: string, body: unknown) {
  const res = await app.inject({
    method: 'POST',
    url,
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
    payload: JSON.stringify(body),
  });
  return { status: res.statusCode, text: res.body, json: res.json() as Record<string, unknown> };
}

const deployment = (extra: Record<string, unknown>) => ({
  name: 'd',
  model: 'meta-llama/Llama-3.1-8B',
  gpu: 'h100-sxm',
  ...extra,
});

const PATHS = [
  ' /etc/passwd',
  '/etc/passwd',
  '/proc/self/environ',
  ' /proc/self/environ',
  '../x',
  '../../../../etc/passwd',
  'file:///etc/passwd',
  '\u00a0/etc/passwd',
  '\u2003/etc/passwd\u3000',
  '\t/etc/hostname\n',
  './config.json',
  'config.json',
  '~/.bashrc',
  'C:\\windows\\win.ini',
  secretFile,
  ` ${secretFile}`,
  secretDir,
];

describe('deployments name no server file', () => {
  it('answers 400 for paths in model, gpu and calibration, never quoting a file', async () => {
    for (const p of PATHS) {
      for (const field of ['model', 'gpu', 'calibration']) {
        const r = await post('/api/v1/deployments', deployment({ [field]: p }));
        expect(r.status, `${field}=${JSON.stringify(p)}: ${r.text}`).toBe(400);
        const issues = r.json.issues as Array<{ path: string }>;
        expect(issues.map((i) => i.path)).toEqual([field]);
        expect(r.text).not.toContain(SECRET);
        expect(r.text).not.toMatch(/root:x:0:0|PATH=|HOME=/);
      }
    }
  });

  it('answers the same whether the path exists or not', async () => {
    const a = await post('/api/v1/deployments', deployment({ model: ` ${secretFile}` }));
    const b = await post('/api/v1/deployments', deployment({ model: ` ${secretFile}.missing` }));
    const msg = (r: typeof a) => (r.json.issues as Array<{ message: string }>)[0].message;
    expect(msg(a)).toBe(msg(b));
  });

  it('refuses file keys in workloads', async () => {
    const r = await post('/api/v1/workload-profiles', {
      name: 'w',
      workload: { trace: '/etc/passwd' },
    });
    expect(r.status).toBe(400);
    expect((r.json.issues as Array<{ path: string }>)[0].path).toBe('workload.trace');
  });
});

describe('uploaded model configs and calibrations', () => {
  it('are stored, named by id from a deployment, and resolved inline', async () => {
    const cfg = await post('/api/v1/model-configs', {
      name: 'tiny-llama',
      config: {
        architectures: ['LlamaForCausalLM'],
        num_hidden_layers: 4,
        hidden_size: 256,
        num_attention_heads: 8,
        num_key_value_heads: 4,
        intermediate_size: 512,
        vocab_size: 32000,
        max_position_embeddings: 4096,
        torch_dtype: 'bfloat16',
        tokenizer_class: 'LlamaTokenizer',
      },
    });
    expect(cfg.status, cfg.text).toBe(201);
    expect(cfg.json.config).not.toHaveProperty('tokenizer_class');
    const { name: _n, ...coefficients } = DEFAULT_TIME_MODEL;
    const cal = await post('/api/v1/calibrations', {
      name: 'my-h100',
      profile: { format: 'kvplan-gpu-profile/1', gpu: 'h100-sxm', coefficients },
    });
    expect(cal.status, cal.text).toBe(201);
    const d = await post('/api/v1/deployments', {
      name: 'by id',
      modelConfigId: cfg.json.id,
      calibrationId: cal.json.id,
      gpu: 'h100-sxm',
    });
    expect(d.status, d.text).toBe(201);
    expect(d.json.modelConfigId).toBe(cfg.json.id);

    const both = await post('/api/v1/deployments', deployment({ modelConfigId: cfg.json.id }));
    expect(both.status).toBe(400);
    const missing = await post('/api/v1/deployments', {
      name: 'x',
      gpu: 'h100-sxm',
      modelConfigId: '00000000-0000-4000-8000-000000000000',
    });
    expect(missing.status).toBe(400);
    expect((missing.json.issues as Array<{ path: string }>)[0].path).toBe('modelConfigId');
  });

  it('refuse a config or profile the simulator cannot read, naming the field', async () => {
    const cfg = await post('/api/v1/model-configs', { name: 'bad', config: { hidden_size: 'big' } });
    expect(cfg.status).toBe(400);
    expect((cfg.json.issues as Array<{ path: string }>).every((i) => i.path.startsWith('config'))).toBe(true);
    const cal = await post('/api/v1/calibrations', { name: 'bad', profile: { format: 'x' } });
    expect(cal.status).toBe(400);
    expect((cal.json.issues as Array<{ path: string }>).every((i) => i.path.startsWith('profile'))).toBe(
      true,
    );
  });
});
