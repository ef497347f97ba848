import { api } from '../api';
import { ENGINE_FIELDS, deploymentRequest } from '../bodies';
import { canWrite, field, input, onSubmitPost, reload, select } from '../forms';
import { fmt, h, table, timeAgo } from '../dom';
import type { Named, Page } from '../types';
import { pageHeader, type PageContext } from './page';

interface Deployment extends Named {
  model?: unknown;
  gpu?: unknown;
  tensorParallel?: number;
  dataParallel?: number;
  replicas?: number;
  engine?: Record<string, unknown>;
}

interface ModelPreset {
  id: string;
  numLayers: number;
  parametersTotal: number;
  weightBytes: number;
  maxPositionEmbeddings: number;
  tensorParallelOptions: number[];
}

interface GpuPreset {
  id: string;
  name: string;
  memoryGiB: number;
  engineDefaults: { maxNumSeqs: number; maxNumBatchedTokens: number };
}

const GiB = 2 ** 30;
const presetName = (v: unknown): string =>
  typeof v === 'string' ? v : v && typeof v === 'object' ? 'inline' : '–';

/** Deployments: a form that builds one from the model and GPU presets, and the workspace's list. */
export async function renderDeployments(ctx: PageContext): Promise<void> {
  const [list, models, gpus] = await Promise.all([
    api<Page<Deployment>>('GET', '/deployments?limit=100'),
    api<Page<ModelPreset>>('GET', '/models?limit=100'),
    api<Page<GpuPreset>>('GET', '/gpus?limit=100'),
  ]);
  if (!ctx.isCurrent()) return;
  ctx.main.append(
    pageHeader('Deployments', h('span', { class: 'muted' }, `${list.total} in this workspace`)),
    canWrite() ? deploymentForm(models.items, gpus.items) : '',
    h(
      'section',
      { class: 'panel' },
      list.items.length
        ? table(
            ['name', 'model', 'GPU', 'TP', 'replicas', 'GPUs', 'created'],
            list.items.map((d) => [
              d.name,
              presetName(d.model),
              presetName(d.gpu),
              String(d.tensorParallel ?? 1),
              String(d.replicas ?? 1),
              String((d.tensorParallel ?? 1) * (d.dataParallel ?? 1) * (d.replicas ?? 1)),
              timeAgo(d.createdAt),
            ]),
            { id: 'deployments-table' },
          )
        : h('p', { class: 'muted' }, 'No deployments yet: make one above.'),
    ),
  );
}

function deploymentForm(models: ModelPreset[], gpus: GpuPreset[]): HTMLElement {
  const model = select(
    'model',
    models.map((m) => ({
      value: m.id,
      label: `${m.id} (${fmt(m.parametersTotal / 1e9)} B params, ${fmt(m.weightBytes / GiB)} GiB)`,
    })),
  );
  const gpu = select(
    'gpu',
    gpus.map((g) => ({ value: g.id, label: `${g.name} (${g.memoryGiB} GiB)` })),
  );
  const tp = select('tensorParallel', []);
  const engine = ENGINE_FIELDS.map(([name, label, integer]) =>
    input(name, { type: 'number', min: 0, step: integer ? 1 : 'any', 'aria-label': label }),
  );
  const fit = h('p', { class: 'muted small', id: 'deployment-fit', 'aria-live': 'polite' });
  // TP offers the degrees the model allows; the engine fields show the GPU class's defaults.
  const update = () => {
    const m = models.find((x) => x.id === model.value);
    const g = gpus.find((x) => x.id === gpu.value);
    const keep = tp.value;
    tp.replaceChildren(
      ...(m?.tensorParallelOptions ?? [1]).map((n) =>
        h('option', { value: String(n), selected: String(n) === keep }, String(n)),
      ),
    );
    const defaults: Record<string, number | undefined> = {
      maxNumSeqs: g?.engineDefaults.maxNumSeqs,
      maxNumBatchedTokens: g?.engineDefaults.maxNumBatchedTokens,
      blockSize: 16,
      maxModelLen: m?.maxPositionEmbeddings,
      gpuMemoryUtilization: 0.9,
    };
    for (const el of engine)
      el.placeholder = defaults[el.name] !== undefined ? String(defaults[el.name]) : '';
    if (m && g) {
      const perGpu = m.weightBytes / Number(tp.value || 1) / GiB;
      fit.textContent = `Weights ${fmt(perGpu)} GiB per GPU of ${g.memoryGiB} GiB at TP ${tp.value || 1}${
        perGpu > g.memoryGiB * 0.9 ? ': they do not fit, raise TP' : ''
      }.`;
    }
  };
  for (const el of [model, gpu, tp]) el.addEventListener('change', update);
  update();
  const form = h(
    'form',
    { class: 'panel', id: 'new-deployment' },
    h('h3', {}, 'New deployment from presets'),
    h(
      'div',
      { class: 'form-row' },
      field('Name', input('name', { required: true, placeholder: 'llama-8b on 2 H100' })),
      field('Model', model),
      field('GPU', gpu),
      field('Tensor parallel', tp, 'degrees the model allows'),
      field('Replicas', input('replicas', { type: 'number', min: 1, step: 1, value: 1 })),
      field(
        'Price ($ per GPU-hour)',
        input('gpuHourUsd', { type: 'number', min: 0, step: 'any' }),
        'optional',
      ),
    ),
    fit,
    h(
      'details',
      {},
      h('summary', {}, 'Engine settings (empty: the defaults shown)'),
      h(
        'div',
        { class: 'form-row' },
        ...ENGINE_FIELDS.map(([, label], i) => field(label, engine[i])),
        field(
          'Prefix caching',
          select('enablePrefixCaching', [
            { value: '', label: 'default (on)' },
            { value: 'on', label: 'on' },
            { value: 'off', label: 'off' },
          ]),
        ),
      ),
    ),
    h('button', { type: 'submit', id: 'create-deployment' }, 'Create'),
  );
  onSubmitPost<{ id: string }>(form, '/deployments', deploymentRequest, reload);
  return form;
}
