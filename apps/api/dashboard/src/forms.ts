/**
 * Small form pieces: labelled fields, and one way to submit a form as a JSON POST whose
 * answer's 400 issues are listed field by field. The body builders are pure (FormData in, a body
 * or the list of problems out), so each form says exactly what it sends.
 */
import { api } from './api';
import type { Built } from './bodies';
import { errorBox, h } from './dom';
import type { Named } from './types';

type FieldAttrs = Record<string, string | number | boolean | undefined>;

export function field(label: string, control: HTMLElement, hint?: string): HTMLElement {
  return h(
    'label',
    { class: 'field' },
    h('span', {}, label),
    control,
    hint ? h('span', { class: 'muted small' }, hint) : null,
  );
}

export function input(name: string, attrs: FieldAttrs = {}): HTMLInputElement {
  return h('input', { name, id: `f-${name}`, ...attrs });
}

export function select(
  name: string,
  items: Array<{ value: string; label: string }>,
  attrs: FieldAttrs = {},
): HTMLSelectElement {
  return h(
    'select',
    { name, id: `f-${name}`, ...attrs },
    ...items.map((i) => h('option', { value: i.value }, i.label)),
  );
}

export const named = (items: Named[]): Array<{ value: string; label: string }> =>
  items.map((i) => ({ value: i.id, label: i.name }));

/**
 * Submits `form` as `POST path` with the body `build` makes (problems found before sending are
 * listed and nothing is sent); on success calls `done` with the answer. One Idempotency-Key per
 * submission.
 */
export function onSubmitPost<T>(
  form: HTMLFormElement,
  path: string,
  build: (data: FormData) => Built,
  done: (answer: T) => void,
): void {
  const status = h('div', { class: 'form-status', 'aria-live': 'polite' });
  form.append(status);
  // The form lists its own problems, every one with its field's label, instead of the browser's
  // one bubble at a time.
  form.noValidate = true;
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    const built = build(new FormData(form));
    if ('problems' in built) {
      status.replaceChildren(
        h(
          'div',
          { class: 'error', role: 'alert' },
          h('ul', {}, ...built.problems.map((p) => h('li', {}, p))),
        ),
      );
      return;
    }
    status.replaceChildren('Sending…');
    api<T>('POST', path, built.body, { 'idempotency-key': crypto.randomUUID() })
      .then((answer) => {
        status.replaceChildren();
        done(answer);
      })
      .catch((err) => status.replaceChildren(errorBox(err)));
  });
}

/** The p99 SLO override fields (bodies.ts reads them), ids prefixed with `prefix`. */
export function sloFields(prefix: string): HTMLElement[] {
  return (
    [
      ['sloTtft', 'SLO TTFT p99 (ms)'],
      ['sloTpot', 'SLO TPOT p99 (ms)'],
      ['sloE2el', 'SLO E2E p99 (ms)'],
    ] as const
  ).map(([name, label]) =>
    field(
      label,
      input(name, {
        type: 'number',
        min: 0,
        step: 'any',
        placeholder: 'deployment’s',
        id: `${prefix}-${name}`,
      }),
    ),
  );
}

/** Reloads the current page (after a create, to list what was made). */
export function reload(): void {
  window.dispatchEvent(new HashChangeEvent('hashchange'));
}

/** Whether the key may write (viewer keys only read). */
export const canWrite = (): boolean => document.body.dataset.role !== 'viewer';
