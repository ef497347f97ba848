// One linter for the whole workspace. The `no-restricted-imports` blocks below are the
// dependency-direction rule of CONVENTIONS.md: libs/sim, libs/fusion and libs/model are leaves
// above one kernel, libs/core, which imports nothing at all (not even Node's modules: the
// browser dashboard bundles it).
import tseslint from 'typescript-eslint';

const serviceModules = ['@nestjs/*', 'typeorm', 'bullmq', 'ioredis', 'pg', 'pino', 'prom-client'];
const appProjects = ['@kvplan/db', '@kvplan/contracts', '@kvplan/cli', '@kvplan/api', '@kvplan/worker'];

const leafRule = (
  extraBanned,
  message = 'libs/sim, libs/fusion and libs/model are leaves: no services, no apps, no other lib but libs/core (CONVENTIONS.md).',
) => ({
  'no-restricted-imports': [
    'error',
    {
      patterns: [
        {
          group: [...serviceModules, ...appProjects, ...extraBanned, '**/apps/**', '**/cli/**'],
          message,
        },
      ],
    },
  ],
  'no-restricted-globals': [
    'error',
    { name: 'process', message: 'Libraries take configuration as arguments, not from process.' },
  ],
  'no-restricted-properties': [
    'error',
    { object: 'Math', property: 'random', message: 'Use the run-owned seeded PRNG.' },
    { object: 'Date', property: 'now', message: 'Libraries own no clock.' },
  ],
});

export default tseslint.config(
  { ignores: ['**/node_modules/**', '**/dist/**', '.nx/**', 'bench/results/**', '**/*.js', '**/*.mjs'] },
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
    },
  },
  { files: ['libs/sim/src/**/*.ts'], rules: leafRule(['@kvplan/fusion', '@tensorflow/*']) },
  { files: ['libs/fusion/src/**/*.ts'], rules: leafRule(['@kvplan/sim']) },
  { files: ['libs/model/src/**/*.ts'], rules: leafRule(['@kvplan/sim']) },
  {
    files: ['libs/core/src/**/*.ts'],
    rules: leafRule(
      ['@kvplan/*', '@tensorflow/*', 'node:*', 'fs', 'path', 'os', 'crypto', 'worker_threads', '../../*'],
      'libs/core is the kernel under the leaves: it imports nothing (CONVENTIONS.md).',
    ),
  },
);
