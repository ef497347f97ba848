import * as tf from '@tensorflow/tfjs';
import { afterEach, describe, expect, it } from 'vitest';
import { InputError } from '@kvplan/core';
import { selectTfBackend } from '../src';

const noNative = async (name: string): Promise<unknown> => {
  if (name.includes('tfjs-node')) throw new Error(`Cannot find module '${name}'`);
  return import(name);
};

describe('selectTfBackend', () => {
  afterEach(async () => {
    await tf.setBackend('wasm');
  });

  it('auto falls back from the native backends to wasm and logs the choice', async () => {
    const lines: string[] = [];
    const r = await selectTfBackend({ load: noNative, log: (l) => lines.push(l) });
    expect(r).toMatchObject({ choice: 'wasm', backend: 'wasm' });
    expect(tf.getBackend()).toBe('wasm');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/tfjs backend: wasm/);
    expect(lines[0]).toMatch(/node-gpu: not installed; node: not installed/);
  });

  it('a forced backend that cannot load is an error, not a silent fall-back', async () => {
    await expect(selectTfBackend({ wanted: 'node', load: noNative })).rejects.toThrow(
      /"node" \(KVPLAN_TF_BACKEND\) could not start.*KVPLAN_TF_BACKEND=cpu/,
    );
    expect(tf.getBackend()).toBe('wasm');
  });

  it('uses cpu only when asked by name', async () => {
    const lines: string[] = [];
    const r = await selectTfBackend({ wanted: 'CPU', load: noNative, log: (l) => lines.push(l) });
    expect(r.backend).toBe('cpu');
    expect(lines[0]).toMatch(/slow pure-JS backend, as asked/);
  });

  it('rejects an unknown name as bad input naming the setting', async () => {
    const err = await selectTfBackend({ wanted: 'gpu' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(InputError);
    expect((err as InputError).issues[0]).toMatchObject({ path: 'KVPLAN_TF_BACKEND' });
  });

  it('reports a backend that silently ends up as something else', async () => {
    // A loader that "succeeds" but registers nothing: setBackend('tensorflow') fails.
    await expect(selectTfBackend({ wanted: 'node-gpu', load: async () => ({}) })).rejects.toThrow(/node-gpu/);
    expect(tf.getBackend()).toBe('wasm');
  });

  it('webgpu sets the WebGPU globals from Dawn before loading its backend, and says why it cannot start', async () => {
    const g = globalThis as { navigator?: { gpu?: unknown } };
    const saved = Object.getOwnPropertyDescriptor(globalThis, 'navigator');
    const loaded: string[] = [];
    const fakeDawn = async (name: string): Promise<unknown> => {
      loaded.push(name);
      if (name === 'webgpu')
        return {
          create: () => ({ requestAdapter: async () => ({}) }),
          globals: { GPUBufferUsage: { MAP_READ: 1 } },
        };
      throw new Error(`Cannot find module '${name}'`);
    };
    try {
      await expect(selectTfBackend({ wanted: 'webgpu', load: fakeDawn })).rejects.toThrow(
        /"webgpu".*webgpu: not installed/,
      );
      expect(loaded).toEqual(['webgpu', '@tensorflow/tfjs-backend-webgpu']);
      expect(typeof (g.navigator?.gpu as { requestAdapter?: unknown }).requestAdapter).toBe('function');
      expect((globalThis as { GPUBufferUsage?: unknown }).GPUBufferUsage).toEqual({ MAP_READ: 1 });
      expect(tf.getBackend()).toBe('wasm');
    } finally {
      if (saved) Object.defineProperty(globalThis, 'navigator', saved);
      else delete (globalThis as { navigator?: unknown }).navigator;
      delete (globalThis as { GPUBufferUsage?: unknown }).GPUBufferUsage;
    }
  });
});

describe('selectTfBackend webgpu without an adapter', () => {
  it('says Dawn found no adapter and why, before loading the backend', async () => {
    const saved = Object.getOwnPropertyDescriptor(globalThis, 'navigator');
    const loaded: string[] = [];
    const load = async (name: string): Promise<unknown> => {
      loaded.push(name);
      return { create: () => ({ requestAdapter: async () => null }), globals: {} };
    };
    try {
      await expect(selectTfBackend({ wanted: 'webgpu', load })).rejects.toThrow(/no WebGPU adapter.*Vulkan/);
      expect(loaded).toEqual(['webgpu']);
    } finally {
      if (saved) Object.defineProperty(globalThis, 'navigator', saved);
      else delete (globalThis as { navigator?: unknown }).navigator;
    }
  });
});
