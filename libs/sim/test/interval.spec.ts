import { describe, expect, it } from 'vitest';
import {
  calibrationSigma,
  formatConfidence,
  normalCdf,
  normalQuantile,
  probabilityWithin,
  projectionInterval,
  resultIntervals,
  seedSigma,
  sloConfidences,
  type ResidualTable,
} from '../src';

/** Known residuals: kernel-measured runs off by exp(+-0.1) on p99 TTFT (RMS 0.1), scaled by 0.2. */
const TABLE: ResidualTable = {
  format: 'kvplan-residuals/1',
  classes: {
    'kernel-measured': { runs: 4, rmsLogError: { p99_ttft_ms: 0.1, mean_tpot_ms: 0.05 } },
    scaled: { runs: 1, rmsLogError: { p99_ttft_ms: 0.2 } },
  },
};

describe('the interval policy', () => {
  it('has a normal quantile and CDF that invert each other', () => {
    expect(normalQuantile(0.95)).toBeCloseTo(1.644854, 5);
    expect(normalCdf(1.644854)).toBeCloseTo(0.95, 6);
    expect(normalCdf(0)).toBeCloseTo(0.5, 7);
  });

  it('takes the residual spread of the GPU class and metric, with stand-ins for the rest', () => {
    expect(calibrationSigma('kernel-measured', 'p99_ttft_ms', TABLE)).toBe(0.1);
    expect(calibrationSigma('scaled from l40s', 'p99_ttft_ms', TABLE)).toBe(0.2);
    // p90 TTFT has no residuals of its own: the p99 ones stand in.
    expect(calibrationSigma('kernel-measured', 'p90_ttft_ms', TABLE)).toBe(0.1);
    // ITL follows TPOT.
    expect(calibrationSigma('kernel-measured', 'mean_itl_ms', TABLE)).toBe(0.05);
    // Scaled without TPOT residuals: the widest class that has them; datasheet only: twice that.
    expect(calibrationSigma('scaled from l40s', 'mean_tpot_ms', TABLE)).toBe(0.05);
    expect(calibrationSigma('datasheet only', 'p99_ttft_ms', TABLE)).toBeCloseTo(0.4, 12);
  });

  it('gives value x exp(-+1.645 sigma) as the 90 % interval of one seed (tiny case, known residuals)', () => {
    const iv = projectionInterval('p99_ttft_ms', 'kernel-measured', 1000, { table: TABLE });
    expect(iv.sigma).toBeCloseTo(0.1, 12);
    expect(iv.low).toBeCloseTo(1000 * Math.exp(-0.1644854), 3);
    expect(iv.high).toBeCloseTo(1000 * Math.exp(0.1644854), 3);
  });

  it('adds seed variance in quadrature and centres on the mean over seeds', () => {
    const seeds = [900, 1000, 1100];
    const s = seedSigma(seeds);
    const logs = seeds.map(Math.log);
    const m = logs.reduce((a, b) => a + b) / 3;
    expect(s).toBeCloseTo(Math.sqrt(logs.reduce((a, b) => a + (b - m) ** 2, 0) / 2), 12);
    const iv = projectionInterval('p99_ttft_ms', 'kernel-measured', 900, { seedValues: seeds, table: TABLE });
    expect(iv.value).toBe(1000);
    expect(iv.sigma).toBeCloseTo(Math.sqrt(0.01 + s * s), 12);
  });

  it('says how likely an SLO is met: at the limit one half, one sigma below it 84 %', () => {
    expect(probabilityWithin('p99_ttft_ms', 'kernel-measured', 2000, 2000, { table: TABLE })).toBeCloseTo(
      0.5,
      6,
    );
    const oneSigmaBelow = 2000 * Math.exp(-0.1);
    expect(
      probabilityWithin('p99_ttft_ms', 'kernel-measured', oneSigmaBelow, 2000, { table: TABLE }),
    ).toBeCloseTo(0.841345, 4);
    expect(formatConfidence(0.8413)).toBe('~85 %');
    expect(formatConfidence(0.9999)).toBe('~99 %');
  });

  it('words SLO terms as the capacity answer prints them', () => {
    const result = {
      p99_ttft_ms: 2000 * Math.exp(-0.1644854),
      meta: { calibrated: 'kernel-measured' as const },
    };
    const [c] = sloConfidences(result, { ttftMs: { p99: 2000 } }, { table: TABLE });
    expect(c.metric).toBe('p99_ttft_ms');
    expect(c.probability).toBeCloseTo(0.95, 4);
    expect(c.text).toBe('meets p99 TTFT 2 s with ~95 % confidence');
  });

  it('gives every latency metric of a result an interval', () => {
    const r = { mean_ttft_ms: 100, p99_ttft_ms: 400, mean_tpot_ms: 20 };
    const iv = resultIntervals('kernel-measured', [r]);
    expect(iv.level).toBe(0.9);
    expect(Object.keys(iv.metrics).sort()).toEqual(['mean_tpot_ms', 'mean_ttft_ms', 'p99_ttft_ms']);
    for (const [k, [lo, hi]] of Object.entries(iv.metrics)) {
      const v = (r as Record<string, number>)[k];
      expect(lo).toBeLessThanOrEqual(v);
      expect(hi).toBeGreaterThanOrEqual(v);
    }
  });
});
