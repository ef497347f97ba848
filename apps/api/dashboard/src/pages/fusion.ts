import { api } from '../api';
import {
  failurePanel,
  fmt,
  h,
  progressBar,
  shortId,
  stat,
  statusBadge,
  statusCell,
  table,
  timeAgo,
} from '../dom';
import { compressionGrid, heatmapOption, HEATMAP_THRESHOLDS } from '../options';
import type { FusionProfileRow, Page } from '../types';
import { chartGrid, pageHeader, type PageContext } from './page';

/** Batch the heatmap assumes when a profile has no measured points: 32 sequences of 32 blocks. */
const DEFAULT_BATCH = 32;
const DEFAULT_BLOCKS = 32;

export async function renderFusionProfiles(ctx: PageContext): Promise<void> {
  const list = await api<Page<FusionProfileRow>>('GET', '/dashboard/fusion-profiles?limit=100');
  if (!ctx.isCurrent()) return;
  ctx.main.append(
    pageHeader('Fusion profiles', h('span', { class: 'muted' }, `${list.total} in this workspace`)),
    h(
      'section',
      { class: 'panel' },
      list.items.length
        ? table(
            ['id', 'created', 'workload', 'fusion config', 'source', 'status'],
            list.items.map((f) => [
              h('a', { href: `#/fusion-profiles/${f.id}`, class: 'mono' }, shortId(f.id)),
              timeAgo(f.createdAt),
              f.workloadProfileName ?? '–',
              f.fusionConfigName ?? '–',
              f.source ?? '–',
              statusCell(f.status, f.progress, f.error),
            ]),
            { id: 'fusion-table' },
          )
        : h(
            'p',
            { class: 'muted' },
            'No fusion profiles yet: fusion jobs build them for a workload profile and a fusion config.',
          ),
    ),
  );
}

export async function renderFusionProfile(ctx: PageContext, id: string): Promise<void> {
  const f = await api<FusionProfileRow>('GET', `/dashboard/fusion-profiles/${id}`);
  if (!ctx.isCurrent()) return;
  ctx.main.append(pageHeader(`Fusion profile ${shortId(f.id)}`, statusBadge(f.status)));
  const p = f.profile;
  if (!p) {
    ctx.main.append(
      f.status === 'failed'
        ? failurePanel({ id: f.jobId, error: f.error })
        : h('section', { class: 'panel' }, progressBar(f.progress, f.status)),
    );
    return;
  }
  const grid = compressionGrid(p, HEATMAP_THRESHOLDS, DEFAULT_BATCH, DEFAULT_BLOCKS);
  ctx.main.append(
    h(
      'div',
      { class: 'stats' },
      stat('mode', p.mode.toUpperCase(), p.model ?? 'model not named'),
      stat('source', f.source ?? p.format, f.workloadProfileName ?? ''),
      stat('layers fused', `${p.fusedLayers.length} / ${p.numLayers}`),
      stat('block size', String(p.blockSize)),
      stat(
        'measured points',
        String(p.points?.length ?? 0),
        p.rateDistortion ? `fit: ${p.rateDistortion.model}` : 'no fit',
      ),
    ),
  );
  chartGrid(ctx.main, [
    {
      name: 'profile-compression',
      title: 'Compression per layer and threshold',
      option: heatmapOption(p, { batchSize: DEFAULT_BATCH, blocksPerSequence: DEFAULT_BLOCKS }),
      note: grid.measured
        ? `Measured points at a ${p.mode === 'cff' ? 'window' : 'batch'} of ${grid.batch}.`
        : `Predicted by the fitted model for a batch of ${DEFAULT_BATCH} sequences of ${DEFAULT_BLOCKS} blocks.`,
      wide: true,
      height: Math.min(720, 140 + p.numLayers * 14),
    },
  ]);
  if (p.accuracy?.length)
    ctx.main.append(
      h(
        'section',
        { class: 'panel' },
        h('h3', {}, 'Accuracy'),
        table(
          ['threshold', 'metric', 'value', 'how'],
          p.accuracy.map((a) => [String(a.threshold), a.metric, fmt(a.value), a.how]),
        ),
      ),
    );
}
