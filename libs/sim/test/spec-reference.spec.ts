import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { resolveSimulationSpec } from '../src/simulation-spec/spec';
import { SPEC_FIELDS, specKeysUnder, specReferenceMarkdown } from '../src/simulation-spec/reference';
import { GENERATOR_KEYS, TRACE_KEYS } from '../src/workload/validate';

const base = {
  model: 'meta-llama/Llama-3.1-8B',
  workload: {
    arrival: { process: 'poisson', rate: 1 },
    numRequests: 10,
    inputTokens: { fixed: 100 },
    outputTokens: { fixed: 10 },
  },
};
const resolve = (raw: Record<string, unknown>) => resolveSimulationSpec(raw, { baseDir: __dirname });

describe('spec reference', () => {
  it('docs/spec-reference.md is generated from the table as it is now (npm run docs:spec)', () => {
    const file = path.resolve(__dirname, '../../../docs/spec-reference.md');
    expect(fs.readFileSync(file, 'utf8')).toBe(specReferenceMarkdown());
  });

  it('lists exactly the keys the validator accepts', () => {
    const paths = SPEC_FIELDS.map((f) => f.path);
    expect(new Set(paths).size).toBe(paths.length);
    // Workload keys are checked by the workload loader; the table names the generator's keys and trace.
    expect(specKeysUnder('workload').sort()).toEqual([...GENERATOR_KEYS, TRACE_KEYS[0]].sort());
    // An unknown key is refused at every level the table covers.
    for (const where of ['', 'engine', 'fusion']) {
      const raw: Record<string, unknown> = { ...base, gpu: 'h100-sxm', engine: {}, fusion: {} };
      const target = where ? (raw[where] as Record<string, unknown>) : raw;
      target.notAKey = 1;
      expect(() => resolve(raw)).toThrow(new RegExp(`${where ? where + '.' : ''}notAKey`));
    }
  });

  it('states the defaults the validator fills in', () => {
    const h100 = resolve({ ...base, gpu: 'h100-sxm', fusion: {} });
    const l4 = resolve({ ...base, gpu: 'l4', engine: { maxModelLen: 8192 } });
    const get = (o: unknown, p: string) =>
      p.split('.').reduce<unknown>((v, k) => (v as Record<string, unknown>)[k], o);
    const literal = SPEC_FIELDS.filter((f) =>
      /^(-?[\d.]+|true|false|bff|global|least-loaded|auto)$/.test(f.default),
    );
    expect(literal.length).toBeGreaterThan(10);
    for (const f of literal) {
      const want = /^-?[\d.]+$/.test(f.default)
        ? Number(f.default)
        : f.default === 'true'
          ? true
          : f.default === 'false'
            ? false
            : f.default;
      expect(get(h100, f.path), f.path).toEqual(want);
    }
    expect([h100.engine.maxNumSeqs, h100.engine.maxNumBatchedTokens]).toEqual([1024, 8192]);
    expect([l4.engine.maxNumSeqs, l4.engine.maxNumBatchedTokens]).toEqual([256, 2048]);
    expect(h100.engine.maxModelLen).toBe(h100.model.maxPositionEmbeddings);
    expect(h100.fusion?.profile).toBeNull();
    expect(l4.fusion).toBeNull();
  });
});
