import {
  kvBytesPerToken,
  listModelPresets,
  parameterCounts,
  resolveModel,
  weightBytes,
  type ModelArch,
} from '@kvplan/sim';
import type { Command } from '../command';

/** One model as `kvplan models --json` prints it: the architecture plus derived sizes. */
export function describeModel(m: ModelArch) {
  const p = parameterCounts(m);
  return {
    ...m,
    parameters: { total: p.total, activePerToken: p.activePerToken },
    weightBytes: weightBytes(m),
    kvBytesPerToken: kvBytesPerToken(m, 'auto'),
  };
}

const billions = (n: number): string => (n / 1e9).toFixed(n < 10e9 ? 2 : 1);

export const modelsCommand: Command = {
  name: 'models',
  usage: 'models [MODEL] [--json]',
  summary: 'List the model presets (or describe one preset, config.json path) with sizes',
  flags: {
    json: { type: 'boolean', description: 'print one JSON document' },
  },
  async run(args, io) {
    const models =
      args.positionals.length > 0
        ? args.positionals.map((m, i) =>
            resolveModel(m, { baseDir: io.cwd, path: args.positionals.length > 1 ? `MODEL[${i}]` : 'MODEL' }),
          )
        : listModelPresets();
    if (args.flags.json) {
      io.stdout(JSON.stringify({ models: models.map(describeModel) }, null, 2) + '\n');
      return 0;
    }
    const rows = models.map((m) => {
      const p = parameterCounts(m);
      return [
        m.id,
        m.numLayers,
        m.hiddenSize,
        `${m.numHeads}/${m.numKvHeads}`,
        m.headDim,
        m.numExperts > 0 ? `${m.expertsPerToken}/${m.numExperts}` : '-',
        billions(p.total),
        billions(p.activePerToken),
        (weightBytes(m) / 2 ** 30).toFixed(1),
        kvBytesPerToken(m, 'auto') / 1024,
        m.maxPositionEmbeddings,
        m.dtype,
      ];
    });
    io.stdout(
      renderTable(
        [
          'model',
          'layers',
          'hidden',
          'heads/kv',
          'head_dim',
          'experts',
          'params_B',
          'active_B',
          'weights_GiB',
          'kv_KiB/token',
          'max_ctx',
          'dtype',
        ],
        rows,
      ),
    );
    return 0;
  },
};

/** Renders rows as an aligned text table: numbers right-aligned, text left-aligned. */
export function renderTable(header: string[], rows: Array<Array<string | number>>): string {
  const cells = rows.map((r) => r.map((c) => String(c)));
  const width = header.map((h, i) => Math.max(h.length, ...cells.map((r) => r[i].length)));
  const numeric = header.map(
    (_, i) =>
      rows.length > 0 && rows.every((r) => typeof r[i] === 'number' || /^[\d.,/ -]+$/.test(String(r[i]))),
  );
  const line = (r: string[]) =>
    r
      .map((c, i) => (numeric[i] ? c.padStart(width[i]) : c.padEnd(width[i])))
      .join('  ')
      .trimEnd();
  return [line(header), line(width.map((w) => '-'.repeat(w))), ...cells.map(line)].join('\n') + '\n';
}
