import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { openKvSample } from '../src';

// tools/export-kv.py's blocking and writing part (numpy only), checked with kvplan's reader.
// python3 with numpy is present here and in CI (Debian's python3-numpy): the test only skips,
// saying so, where it is not.
const exporter = path.resolve(__dirname, '..', '..', '..', 'tools', 'export-kv.py');
const probe = spawnSync('python3', ['-c', 'import numpy'], { encoding: 'utf8' });
const missing = probe.error ? 'python3 is not installed' : probe.status !== 0 ? 'python3 has no numpy' : null;
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kvplan-export-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

// Deterministic arrays, the same formula on both sides: x[s, t, h, d] = f(layer, kind, s, t, h, d).
const f = (l: number, kind: number, s: number, t: number, h: number, d: number): number =>
  Math.round(1000 * Math.sin(1 + l * 7 + kind * 3 + s * 1.3 + t * 0.7 + h * 0.11 + d * 0.017)) / 1000;

const make = `
import numpy as np, sys
L, n, T, H, hd, nq, qh = 3, 3, 37, 2, 8, 2, 4
lens = [37, 20, 16]
s, t, h, d = np.meshgrid(np.arange(n), np.arange(T), np.arange(H), np.arange(hd), indexing="ij")
f = lambda l, k, s, t, h, d: np.round(1000 * np.sin(1 + l * 7 + k * 3 + s * 1.3 + t * 0.7 + h * 0.11 + d * 0.017)) / 1000
arrays = {"seq_lens": np.array(lens)}
for l in range(L):
    for k, name in ((0, "key"), (1, "value")):
        a = f(l, k, s, t, h, d).astype(np.float32)
        for i, ln in enumerate(lens): a[i, ln:] = 0
        arrays[f"{name}_{l}"] = a
    qs, qt, qh_, qd = np.meshgrid(np.arange(n), np.arange(nq), np.arange(qh), np.arange(hd), indexing="ij")
    arrays[f"query_{l}"] = f(l, 2, qs, qt, qh_, qd).astype(np.float32)
np.savez(sys.argv[1], **arrays)
`;

describe.skipIf(missing !== null)(`tools/export-kv.py${missing ? ` (skipped: ${missing})` : ''}`, () => {
  for (const dtype of ['f32', 'f16', 'bf16'] as const) {
    it(`writes a kvplan-kv/1 file (${dtype}) that kvplan reads back: blocks, padding, queries, metadata`, () => {
      const npz = path.join(dir, 'a.npz');
      const out = path.join(dir, `a-${dtype}.safetensors`);
      const gen = spawnSync('python3', ['-c', make, npz], { encoding: 'utf8' });
      expect(gen.stderr).toBe('');
      const run = spawnSync(
        'python3',
        [
          exporter,
          '--from-npz',
          npz,
          '--out',
          out,
          '--block-size',
          '16',
          '--dtype',
          dtype,
          '--model-name',
          'meta-llama/Llama-3.1-8B',
          '--rope-theta',
          '500000',
        ],
        { encoding: 'utf8' },
      );
      expect(run.status, run.stderr).toBe(0);
      const r = openKvSample(out);
      try {
        const i = r.info;
        expect(i).toMatchObject({
          numSeqs: 3,
          numLayers: 3,
          maxBlocks: 3,
          blockSize: 16,
          numKvHeads: 2,
          headDim: 8,
          numQueries: 2,
          seqLens: [37, 20, 16],
          model: 'meta-llama/Llama-3.1-8B',
          synthetic: false,
        });
        expect(i.rope.state).toBe('applied');
        expect(i.rope.theta).toBe(500000);
        const tol = dtype === 'f32' ? 1e-6 : dtype === 'f16' ? 2e-3 : 8e-3;
        let worst = 0;
        for (let l = 0; l < 3; l++) {
          const layer = r.readLayer(l);
          for (const [kind, data] of [
            [0, layer.key],
            [1, layer.value],
          ] as const) {
            for (let s = 0; s < 3; s++)
              for (let t = 0; t < 48; t++)
                for (let h = 0; h < 2; h++)
                  for (let d = 0; d < 8; d++) {
                    const want = t < i.seqLens[s] ? f(l, kind, s, t, h, d) : 0;
                    // [seq, block, token in block, head, dim] = [seq, token, head, dim] flat
                    worst = Math.max(worst, Math.abs(data[((s * 48 + t) * 2 + h) * 8 + d] - want));
                  }
          }
          expect(worst).toBeLessThanOrEqual(tol);
          const q = layer.query!;
          expect(q).toHaveLength(3 * 2 * 4 * 8);
          expect(Math.abs(q[((2 * 2 + 1) * 4 + 3) * 8 + 5] - f(l, 2, 2, 1, 3, 5))).toBeLessThanOrEqual(tol);
        }
      } finally {
        r.close();
      }
    }, 60_000);
  }

  it('refuses an archive without key_0..key_<L-1>, naming what it got', () => {
    const npz = path.join(dir, 'bad.npz');
    spawnSync('python3', [
      '-c',
      `import numpy as np; np.savez("${npz}", key_1=np.zeros((1,1,1,1)), seq_lens=np.array([1]))`,
    ]);
    const run = spawnSync(
      'python3',
      [exporter, '--from-npz', npz, '--out', path.join(dir, 'bad.safetensors')],
      { encoding: 'utf8' },
    );
    expect(run.status).toBe(2);
    expect(run.stderr).toMatch(/expected key_0\.\.key_<L-1>/);
    expect(fs.existsSync(path.join(dir, 'bad.safetensors'))).toBe(false);
  }, 60_000);
});
