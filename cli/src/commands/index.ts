import type { Command } from '../command';

/**
 * Loads a command module. From the bundle (cli/dist, where each command is its own file beside
 * main.js) and under the CLI's TypeScript hook (tsx registers `.ts` for require) that is
 * require(); elsewhere (the test runner transforms imports itself) import(). The bundler reads
 * the list below to find the commands: keep each entry's shape.
 */
async function load<M>(file: string, pick: (m: M) => Command): Promise<Command> {
  const bundled = !__filename.endsWith('.ts');
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- see above
  if (bundled || require.extensions['.ts']) return pick(require(file) as M);
  return pick((await import(`${file}.js`)) as M);
}

/**
 * Every `kvplan` subcommand, in the order `kvplan --help` lists them, loaded only when used: the
 * tensor and database libraries take a second or more to load, which `simulate` should not pay.
 */
export const commandLoaders: Array<[name: string, load: () => Promise<Command>]> = [
  ['plan', () => load<typeof import('./plan.js')>('./plan', (m) => m.planCommand)],
  ['simulate', () => load<typeof import('./simulate.js')>('./simulate', (m) => m.simulateCommand)],
  ['capacity', () => load<typeof import('./capacity.js')>('./capacity', (m) => m.capacityCommand)],
  ['compare', () => load<typeof import('./compare.js')>('./compare', (m) => m.compareCommand)],
  ['calibrate', () => load<typeof import('./calibrate.js')>('./calibrate', (m) => m.calibrateCommand)],
  ['models', () => load<typeof import('./models.js')>('./models', (m) => m.modelsCommand)],
  ['gpus', () => load<typeof import('./gpus.js')>('./gpus', (m) => m.gpusCommand)],
  ['fuse', () => load<typeof import('./fuse.js')>('./fuse', (m) => m.fuseCommand)],
  ['kv', () => load<typeof import('./kv.js')>('./kv', (m) => m.kvCommand)],
  ['model', () => load<typeof import('./model.js')>('./model', (m) => m.modelCommand)],
  ['admin', () => load<typeof import('./admin.js')>('./admin', (m) => m.adminCommand)],
];

export async function loadCommand(name: string): Promise<Command | null> {
  const entry = commandLoaders.find(([n]) => n === name);
  return entry ? entry[1]() : null;
}

export async function loadAllCommands(): Promise<Command[]> {
  return Promise.all(commandLoaders.map(([, load]) => load()));
}
