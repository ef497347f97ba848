import { api } from '../api';
import { fusionConfigRequest, fusionProfileRequest } from '../bodies';
import { canWrite, field, input, named, onSubmitPost, reload, select } from '../forms';
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
import type { FusionProfileRow, Named, Page } from '../types';
import { chartGrid, pageHeader, type PageContext } from './page';

/** Batch the heatmap assumes when a profile has no measured points: 32 sequences of 32 blocks. */
const DEFAULT_BATCH = 32;
const DEFAULT_BLOCKS = 32;

export async function renderFusionProfiles(ctx: PageContext): Promise<void> {
  const [list, profiles, configs, deployments] = await Promise.all([
    api<Page<FusionProfileRow>>('GET', '/dashboard/fusion-profiles?limit=100'),
    api<Page<Named>>('GET', '/workload-profiles?limit=100'),
    api<Page<Named & { mode: string; thresholds: number[] }>>('GET', '/fusion-configs?limit=100'),
    api<Page<Named>>('GET', '/deployments?limit=100'),
  ]);
  if (!ctx.isCurrent()) return;
  ctx.main.append(
    pageHeader('Fusion profiles', h('span', { class: 'muted' }, `${list.total} in this workspace`)),
    canWrite()
      ? h(
          'div',
          { class: 'form-pair' },
          newFusionConfigForm(configs.items),
          buildProfileForm(profiles.items, configs.items, deployments.items),
        )
      : '',
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
  ctx.main.append(
    pageHeader(
      `Fusion profile ${shortId(f.id)}`,
      statusBadge(f.status),
      f.status === 'succeeded'
        ? h(
            'a',
            {
              class: 'button',
              id: 'use-in-projection',
              href: `#/projections?${new URLSearchParams({ workloadProfileId: f.workloadProfileId, fusionConfigId: f.fusionConfigId })}`,
              title:
                'A projection with this workload and fusion config uses the latest profile built for them',
            },
            'Use in a projection',
          )
        : null,
    ),
  );
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

/** A fusion config: the mode and the thresholds to project and profile. */
function newFusionConfigForm(configs: Array<Named & { mode: string; thresholds: number[] }>): HTMLElement {
  const form = h(
    'form',
    { class: 'panel', id: 'new-fusion-config' },
    h('h3', {}, 'New fusion config'),
    configs.length
      ? h(
          'p',
          { class: 'muted small' },
          'Existing: ',
          configs.map((c) => `${c.name} (${c.mode} at ${c.thresholds.join(', ')})`).join('; '),
        )
      : null,
    h(
      'div',
      { class: 'form-row' },
      field('Name', input('name', { required: true, placeholder: 'bff 0.8' })),
      field(
        'Mode',
        select('mode', [
          { value: 'bff', label: 'BFF (across a batch)' },
          { value: 'cff', label: 'CFF (within a prompt)' },
        ]),
      ),
      field(
        'Thresholds',
        input('thresholds', { required: true, value: '0.7, 0.8, 0.9' }),
        'cosine, each in (0, 1]',
      ),
      field('Batch sizes', input('batchSizes', { placeholder: 'default' }), 'BFF: measured at these'),
      h('button', { type: 'submit', id: 'create-fusion-config' }, 'Create'),
    ),
  );
  onSubmitPost(form, '/fusion-configs', fusionConfigRequest, reload);
  return form;
}

/** Builds a fusion profile: the job measures fusion on the workload's KV and fits its model. */
function buildProfileForm(profiles: Named[], configs: Named[], deployments: Named[]): HTMLElement {
  const ready = profiles.length > 0 && configs.length > 0 && deployments.length > 0;
  const form = h(
    'form',
    { class: 'panel', id: 'build-fusion-profile' },
    h('h3', {}, 'Build a fusion profile'),
    h(
      'div',
      { class: 'form-row' },
      field(
        'Workload profile',
        select('workloadProfileId', named(profiles), { id: 'build-workloadProfileId' }),
      ),
      field('Fusion config', select('fusionConfigId', named(configs), { id: 'build-fusionConfigId' })),
      field('Deployment', select('deploymentId', named(deployments), { id: 'build-deploymentId' })),
      field(
        'Sampled requests',
        input('sampleSize', { type: 'number', min: 1, step: 1, placeholder: 'default' }),
      ),
      field(
        'Prompt tokens kept',
        input('maxPromptTokens', { type: 'number', min: 1, step: 1, placeholder: 'default' }),
      ),
      h('button', { type: 'submit', id: 'build-profile', disabled: !ready }, 'Build'),
    ),
    ready
      ? null
      : h('p', { class: 'muted small' }, 'Needs a workload profile, a fusion config and a deployment.'),
  );
  onSubmitPost<{ id: string }>(form, '/fusion-profiles', fusionProfileRequest, (f) => {
    location.hash = `#/fusion-profiles/${f.id}`;
  });
  return form;
}
