import { describe, expect, it } from 'vitest';
import {
  dominates,
  higherIsBetter,
  InputError,
  IssueCollector,
  matchProbability,
  matchShare,
  metricInfo,
  nelderMead,
  paretoFront,
  parseFusionProfile,
  predictedCompression,
  readSafetensorsHeader,
  Sfc32,
  Xoshiro128ss,
  type Objective,
} from '../src';

describe('InputError', () => {
  it('carries every issue and names them in its message', () => {
    const c = new IssueCollector();
    c.add('a.b', 'too big');
    c.add('', 'no rows');
    expect(c.ok).toBe(false);
    try {
      c.throwIfAny();
      expect.unreachable();
    } catch (err) {
      expect(err).toBeInstanceOf(InputError);
      expect((err as InputError).issues).toHaveLength(2);
      expect((err as InputError).message).toBe('a.b: too big\nno rows');
    }
  });
});

describe('Rng', () => {
  it('keeps both generators bit for bit (recorded first draws)', () => {
    expect(new Xoshiro128ss(1).uint32()).toBe(2442144158);
    expect(new Xoshiro128ss(1).next()).toBe(0.5686059948349658);
    expect(new Sfc32(1).uint32()).toBe(1233409322);
    expect(new Sfc32(1).next()).toBe(0.28717548632994294);
  });
  it('draws the same sequence from the same seed, and distributions with the right moments', () => {
    const a = new Xoshiro128ss(9);
    const b = new Xoshiro128ss(9);
    for (let i = 0; i < 100; i++) expect(a.normal()).toBe(b.normal());
    for (const rng of [new Xoshiro128ss(3), new Sfc32(3)]) {
      let s = 0;
      for (let i = 0; i < 20000; i++) s += rng.exponential(2);
      expect(s / 20000).toBeCloseTo(0.5, 1);
      let g = 0;
      for (let i = 0; i < 20000; i++) g += rng.gamma(0.5, 4);
      expect(g / 20000).toBeCloseTo(2, 0);
    }
  });
});

describe('nelderMead', () => {
  it('finds the minimum of a shifted quadratic with one step per coordinate', () => {
    const r = nelderMead((x) => (x[0] - 3) ** 2 + 10 * (x[1] + 1) ** 2, [0, 0], {
      step: [1, 0.1],
      maxEvals: 4000,
      tolerance: 1e-12,
    });
    expect(r.x[0]).toBeCloseTo(3, 4);
    expect(r.x[1]).toBeCloseTo(-1, 4);
  });
  it('treats a non-finite value as the worst', () => {
    const r = nelderMead((x) => (x[0] < 0 ? NaN : (x[0] - 1) ** 2), [2], { step: 0.5 });
    expect(r.x[0]).toBeCloseTo(1, 2);
  });
});

describe('the poisson-logistic/1 match model', () => {
  const fit = { pMax: 0.01, t0: 0.6, width: 0.03 };
  it('is logistic in the threshold and saturates at the cap', () => {
    expect(matchProbability(fit, 0.6)).toBeCloseTo(0.005, 12);
    expect(matchShare(fit, 0.6, 0)).toBe(0);
    expect(matchShare({ ...fit, cap: 0.3 }, 0.6, 1e9)).toBeCloseTo(0.3, 9);
    expect(matchShare({ ...fit, cap: 2 }, 0.6, 1e9)).toBeCloseTo(1, 9); // a cap outside (0, 1] is 1
  });
  it('predicts more compression for larger batches and lower thresholds', () => {
    expect(predictedCompression(fit, 0.7, 1, 32)).toBe(1);
    expect(predictedCompression(fit, 0.6, 16, 32)).toBeGreaterThan(predictedCompression(fit, 0.7, 16, 32));
    expect(predictedCompression(fit, 0.6, 32, 32)).toBeGreaterThan(predictedCompression(fit, 0.6, 16, 32));
  });
});

describe('metric registry', () => {
  it('knows the direction of every accuracy and error figure', () => {
    expect(higherIsBetter('attention-output-rel-error')).toBe(false);
    expect(higherIsBetter('next-token-kl-nats')).toBe(false);
    expect(higherIsBetter('next-token-agreement')).toBe(true);
    expect(metricInfo('top5-attention-overlap')).toMatchObject({ unit: 'fraction', higherIsBetter: true });
    expect(higherIsBetter('cost_per_million_output_tokens_usd')).toBe(false);
    expect(metricInfo('bogus')).toBeNull();
    expect(() => higherIsBetter('bogus')).toThrow(/metric registry/);
  });
});

describe('Pareto dominance', () => {
  interface P {
    rate: number;
    cost: number | null;
    ok: boolean;
  }
  const obj: Objective<P>[] = [
    { value: (p) => p.rate, higherIsBetter: true },
    { value: (p) => p.cost, higherIsBetter: false },
  ];
  it('follows each objective direction', () => {
    expect(dominates({ rate: 2, cost: 1, ok: true }, { rate: 1, cost: 2, ok: true }, obj)).toBe(true);
    expect(dominates({ rate: 2, cost: 3, ok: true }, { rate: 1, cost: 2, ok: true }, obj)).toBe(false);
    expect(dominates({ rate: 1, cost: 1, ok: true }, { rate: 1, cost: 1, ok: true }, obj)).toBe(false);
  });
  it('never scores a missing value as 0 and keeps infeasible points off the front', () => {
    const priced = { rate: 1, cost: 5, ok: true };
    const unpriced = { rate: 1, cost: null, ok: true };
    expect(dominates(priced, unpriced, obj)).toBe(true);
    expect(dominates(unpriced, priced, obj)).toBe(false);
    const infeasible = { rate: 100, cost: 0, ok: false };
    expect(paretoFront([priced, unpriced, infeasible], obj, (p) => p.ok)).toEqual([priced]);
  });
});

describe('fusion profile validator', () => {
  it('returns a typed profile or throws every issue', () => {
    const p = parseFusionProfile({
      format: 'kvplan-fusion-profile/1',
      mode: 'bff',
      source: 'synthetic',
      numLayers: 2,
      fusedLayers: [1],
      blockSize: 16,
      points: [],
      rateDistortion: {
        model: 'poisson-logistic/1',
        layers: [{ layer: 1, pMax: 0.1, t0: 0.7, width: 0.05 }],
      },
    });
    expect(p.model).toBeNull();
    expect(p.accuracy).toBeNull();
    try {
      parseFusionProfile({ format: 'x', mode: 'zip', numLayers: 0 }, 'p');
      expect.unreachable();
    } catch (err) {
      const paths = (err as InputError).issues.map((i) => i.path);
      expect(paths).toEqual(expect.arrayContaining(['p.format', 'p.mode', 'p.source', 'p.numLayers']));
    }
  });
});

describe('safetensors header', () => {
  const at = (part: string) => (part ? `f:${part}` : 'f');
  const src = (bytes: Uint8Array) => ({
    size: bytes.length,
    read: (p: number, n: number) => bytes.subarray(p, p + n),
  });
  const file = (json: string) => {
    const body = new TextEncoder().encode(json);
    const out = new Uint8Array(8 + body.length);
    new DataView(out.buffer).setUint32(0, body.length, true);
    out.set(body, 8);
    return out;
  };
  it('parses the length prefix and the JSON object', () => {
    expect(readSafetensorsHeader(src(file('{"a":1}')), at)).toEqual({
      header: { a: 1 },
      dataStart: 15,
      dataLen: 0,
    });
  });
  it('refuses null, non-JSON, a short file and an implausible length', () => {
    const msg = (b: Uint8Array) => {
      try {
        readSafetensorsHeader(src(b), at);
        return null;
      } catch (err) {
        return (err as InputError).issues[0];
      }
    };
    expect(msg(file('null'))).toEqual({ path: 'f:header', message: 'expected a JSON object' });
    expect(msg(file('{'))?.path).toBe('f:header');
    expect(msg(new Uint8Array(3))?.message).toMatch(/truncated/);
    const huge = new Uint8Array(16);
    new DataView(huge.buffer).setUint32(4, 1, true);
    expect(msg(huge)?.message).toMatch(/not plausible/);
  });
});
