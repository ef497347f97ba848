/** The kvplan ops dashboard: a hash-routed single page over the API (everything served by it). */
import './style.css';
import { api, apiKey, setUnauthorizedHandler } from './api';
import { disposeCharts } from './charts';
import { clear, errorBox, h } from './dom';
import { addTableExports } from './export';
import { renderCapacityPlan, renderCapacityPlans } from './pages/capacity';
import { renderCompare } from './pages/compare';
import { renderDeployments } from './pages/deployments';
import { renderFusionProfile, renderFusionProfiles } from './pages/fusion';
import { renderJobs } from './pages/jobs';
import { renderProjection } from './pages/projection';
import { renderProjections } from './pages/projections';
import { renderWorkloadProfile, renderWorkloadProfiles } from './pages/workloads';
import type { Cleanup, PageContext } from './pages/page';

const main = document.getElementById('main')!;
const who = document.getElementById('who')!;

type Route = [RegExp, string, (ctx: PageContext, ...params: string[]) => Promise<Cleanup | void>];
const ROUTES: Route[] = [
  [/^\/projections\/([0-9a-f-]{36})$/, 'projections', renderProjection],
  [/^\/projections$/, 'projections', renderProjections],
  [/^\/capacity-plans\/([0-9a-f-]{36})$/, 'capacity-plans', renderCapacityPlan],
  [/^\/capacity-plans$/, 'capacity-plans', renderCapacityPlans],
  [/^\/workload-profiles\/([0-9a-f-]{36})$/, 'workload-profiles', renderWorkloadProfile],
  [/^\/workload-profiles$/, 'workload-profiles', renderWorkloadProfiles],
  [/^\/deployments$/, 'deployments', renderDeployments],
  [/^\/fusion-profiles\/([0-9a-f-]{36})$/, 'fusion-profiles', renderFusionProfile],
  [/^\/fusion-profiles$/, 'fusion-profiles', renderFusionProfiles],
  [/^\/jobs$/, 'jobs', renderJobs],
  [/^\/compare$/, 'compare', renderCompare],
];

let cleanup: Cleanup | void;
let generation = 0;

function showLogin(message?: string): void {
  clear(who);
  clear(main);
  document.body.dataset.page = 'login';
  const input = h('input', {
    type: 'password',
    id: 'api-key',
    name: 'api-key',
    autocomplete: 'off',
    placeholder: 'kvp_…',
    required: true,
  });
  const form = h(
    'form',
    { class: 'login panel', id: 'login-form' },
    h('h2', {}, 'API key'),
    h(
      'p',
      { class: 'muted' },
      'Paste an API key of your workspace (',
      h('code', {}, 'kvplan admin create-key'),
      ' makes the first one). It stays in this tab only (sessionStorage) and is sent as a Bearer header, never in a URL.',
    ),
    message ? h('div', { class: 'error' }, message) : null,
    input,
    h('button', { type: 'submit' }, 'Use key'),
  );
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    apiKey.set(input.value);
    void start();
  });
  main.append(form);
  input.focus();
}

async function start(): Promise<void> {
  if (!apiKey.get()) return showLogin();
  try {
    const ws = await api<{ name: string; role: string }>('GET', '/workspace');
    clear(who);
    who.append(
      h('span', { class: 'muted' }, `${ws.name} · ${ws.role}`),
      h(
        'button',
        { class: 'link', id: 'sign-out', onclick: () => (apiKey.clear(), showLogin()) },
        'Forget key',
      ),
    );
    document.body.dataset.role = ws.role;
  } catch {
    apiKey.clear();
    return showLogin('That key was not accepted.');
  }
  await route();
}

async function route(): Promise<void> {
  if (!apiKey.get()) return showLogin();
  const gen = ++generation;
  if (typeof cleanup === 'function') cleanup();
  cleanup = undefined;
  disposeCharts();
  const [path, search = ''] = (location.hash.replace(/^#/, '') || '/projections').split('?');
  const hit = ROUTES.map(([re, nav, fn]) => [path.match(re), nav, fn] as const).find(([m]) => m);
  document
    .querySelectorAll('[data-nav]')
    .forEach((a) => a.classList.toggle('active', a.getAttribute('data-nav') === hit?.[1]));
  clear(main);
  delete document.body.dataset.loaded;
  if (!hit) {
    main.append(h('p', {}, 'No such page. ', h('a', { href: '#/projections' }, 'Projections')));
    return;
  }
  const [m, , fn] = hit;
  const ctx: PageContext = { main, query: new URLSearchParams(search), isCurrent: () => gen === generation };
  try {
    const c = await fn(ctx, ...m!.slice(1));
    if (gen === generation) cleanup = c;
    else if (typeof c === 'function') c();
  } catch (err) {
    if (gen === generation) main.append(errorBox(err));
  }
  if (gen === generation) {
    addTableExports(main, hit[1]);
    document.body.dataset.loaded = 'true';
  }
}

setUnauthorizedHandler(() => {
  apiKey.clear();
  showLogin('The API refused the key (401): enter it again.');
});
window.addEventListener('hashchange', () => void route());
void start();
