import type { Command } from '../command';
import { InputError } from '@kvplan/sim';

const ROLES = ['viewer', 'planner', 'admin'];

/**
 * `kvplan admin create-key`: the first admin key of a new workspace (or another key of an
 * existing one), written straight to the service's PostgreSQL. The key is printed once; only its
 * SHA-256 hash is stored. This is the one CLI command that talks to the service's database.
 */
export const adminCommand: Command = {
  name: 'admin',
  usage: 'admin create-key [--workspace NAME | --workspace-id ID] [--role R]',
  summary: 'Create a service API key (a new workspace with its first admin key by default)',
  flags: {
    'database-url': { type: 'string', description: 'PostgreSQL URL of the service (default: $DATABASE_URL)' },
    workspace: { type: 'string', description: 'Name of a new workspace to create', default: 'default' },
    'workspace-id': { type: 'string', description: 'Add the key to this existing workspace instead' },
    role: {
      type: 'string',
      description: 'viewer, planner or admin (a new workspace always gets admin)',
      default: 'admin',
    },
    name: { type: 'string', description: 'A label for the key', default: 'cli' },
    json: { type: 'boolean', description: 'Print one JSON document' },
  },
  async run(args, io) {
    const [sub, ...extra] = args.positionals;
    const issues: Array<{ path: string; message: string }> = [];
    if (sub !== 'create-key')
      issues.push({
        path: 'admin',
        message: `expected the subcommand create-key, got ${JSON.stringify(sub ?? '')}`,
      });
    if (extra.length) issues.push({ path: 'admin', message: `unexpected arguments: ${extra.join(' ')}` });
    const url = (args.flags['database-url'] as string | undefined) ?? process.env.DATABASE_URL;
    if (!url) issues.push({ path: '--database-url', message: 'required (or set DATABASE_URL)' });
    const role = String(args.flags.role);
    if (!ROLES.includes(role))
      issues.push({ path: '--role', message: `expected one of ${ROLES.join(', ')}, got "${role}"` });
    const workspaceId = args.flags['workspace-id'] as string | undefined;
    if (workspaceId !== undefined && !/^[0-9a-f-]{36}$/i.test(workspaceId))
      issues.push({ path: '--workspace-id', message: 'expected a UUID' });
    if (issues.length) throw new InputError(issues);

    // Loaded here, with require (the CLI runs as CommonJS through tsx, whose hook serves require,
    // not import()), so other commands never load TypeORM.
    /* eslint-disable @typescript-eslint/no-require-imports */
    require('reflect-metadata');
    const { DataSource } = require('typeorm') as typeof import('typeorm');
    const db = require('@kvplan/db') as typeof import('@kvplan/db');
    /* eslint-enable @typescript-eslint/no-require-imports */
    const ds = await new DataSource(
      db.dataSourceOptions({ url: url!, applicationName: 'kvplan-cli', poolSize: 1 }),
    ).initialize();
    try {
      const repo = new db.WorkspaceRepository(ds);
      let out: { workspaceId: string; keyId: string; role: string; key: string };
      if (workspaceId) {
        if (!(await repo.getWorkspace(workspaceId)))
          throw new InputError([{ path: '--workspace-id', message: 'no such workspace' }]);
        const { key, secret } = await repo.createKey(
          workspaceId,
          String(args.flags.name),
          role as 'viewer' | 'planner' | 'admin',
        );
        out = { workspaceId, keyId: key.id, role: key.role, key: secret };
      } else {
        const { workspace, key, secret } = await repo.createWorkspaceWithAdminKey(
          String(args.flags.workspace),
          String(args.flags.name),
        );
        out = { workspaceId: workspace.id, keyId: key.id, role: key.role, key: secret };
      }
      if (args.flags.json) io.stdout(JSON.stringify(out) + '\n');
      else
        io.stdout(
          `workspace ${out.workspaceId}\nrole      ${out.role}\nkey       ${out.key}\n(shown once: store it now)\n`,
        );
      return 0;
    } finally {
      await ds.destroy();
    }
  },
};
