// The compare view's pure parts: the selection read from the URL and the overlay options.
import { describe, expect, it } from 'vitest';
import {
  COMPARE_COLORS,
  compareCdfOption,
  compareHash,
  compareKvOption,
  compareLatencyOption,
  comparePlansOption,
  compareRuns,
  compareThroughputOption,
  parseSelection,
} from '../dashboard/src/compare-options';
import type { CapacityPlan, RateSweep } from '../dashboard/src/types';

const id = (n: number) => `00000000-0000-4000-8000-${String(n).padStart(12, '0')}`;

const sweep = (scale: number, max: number | null): RateSweep => ({
  offeredRate: 2,
  requests: 100,
  maxRateMeetingSlo: max,
  points: [1, 2, 4].map((rate) => ({
    rate,
    requestThroughput: rate,
    outputThroughput: rate * 40 * scale,
    p99TtftMs: rate * 200 * scale,
    p99TpotMs: 30,
    p99E2elMs: rate * 700,
    stable: true,
    meetsSlo: null,
  })),
});

describe('compare selection', () => {
  it('reads projection and plan ids from the query, once each, and names every problem', () => {
    const q = new URLSearchParams(`projections=${id(1)},${id(2)},${id(1)}&plans=${id(3)}`);
    expect(parseSelection(q)).toEqual({ projections: [id(1), id(2)], plans: [id(3)], problems: [] });
    expect(parseSelection(new URLSearchParams(`projections=${id(1)}`)).problems).toEqual([
      'Only one item is selected: tick two to four projections or capacity plans in their lists.',
    ]);
    expect(parseSelection(new URLSearchParams('')).problems[0]).toMatch(/^Nothing is selected/);
    const five = parseSelection(new URLSearchParams(`projections=${[1, 2, 3, 4, 5].map(id).join(',')}`));
    expect(five.projections).toHaveLength(5);
    expect(five.problems).toEqual(['5 items are selected: compare takes two to four (untick 1).']);
    const bad = parseSelection(new URLSearchParams(`projections=${id(1)},nope&plans=${id(2)}`));
    expect(bad.problems).toEqual(['"nope" is not a projection id (expected a UUID)']);
    expect(bad.projections).toEqual([id(1)]);
  });

  it('writes the link that reads back to the same selection', () => {
    const sel = { projections: [id(1), id(2)], plans: [id(3)] };
    const hash = compareHash(sel);
    expect(hash).toBe(`#/compare?projections=${id(1)},${id(2)}&plans=${id(3)}`);
    const back = parseSelection(new URLSearchParams(hash.split('?')[1]));
    expect({ projections: back.projections, plans: back.plans }).toEqual(sel);
  });
});

describe('compare overlays', () => {
  const items = [
    {
      label: 'a',
      color: COMPARE_COLORS[0],
      pair: { withoutFusion: sweep(1, 3), withFusion: sweep(1.5, 3.5) },
    },
    { label: 'b', color: COMPARE_COLORS[1], pair: { withoutFusion: sweep(0.5, null), withFusion: null } },
  ];

  it('draws every run of every item, one colour per item, fused runs dashed', () => {
    const runs = compareRuns(items, (s) => s.points.length > 0);
    expect(runs.map((r) => [r.name, r.color, r.fused])).toEqual([
      ['a · no fusion', COMPARE_COLORS[0], false],
      ['a · fusion', COMPARE_COLORS[0], true],
      ['b', COMPARE_COLORS[1], false],
    ]);
    const o = compareThroughputOption(items)!;
    expect(o.series.map((s: { lineStyle: { type: string } }) => s.lineStyle.type)).toEqual([
      'solid',
      'dashed',
      'solid',
    ]);
    expect(o.series[1].data).toEqual([
      [1, 60],
      [2, 120],
      [4, 240],
    ]);
    expect(o.series[0].markLine.data).toEqual([{ xAxis: 3 }]);
    expect(o.series[2].markLine).toBeUndefined();
  });

  it('draws the SLO line only when every item has the same first term, inside the log axis', () => {
    const slo = { ttftMs: { p99: 5000 } };
    const shared = compareLatencyOption(items, [slo, slo])!;
    expect(shared.series.at(-1).markLine.data).toEqual([{ yAxis: 5000 }]);
    expect(shared.yAxis.max).toBeGreaterThanOrEqual(5000);
    const differing = compareLatencyOption(items, [slo, { ttftMs: { p99: 800 } }])!;
    expect(differing.series.some((s: { name: string }) => s.name === 'SLO')).toBe(false);
    expect(differing.series).toHaveLength(3);
  });

  it('overlays CDFs and KV use as a share of each run’s own blocks', () => {
    const cdf = (k: number) => ({
      ttftMs: Array.from({ length: 101 }, (_, i) => k * (i + 1)),
      tpotMs: [],
      e2elMs: [],
    });
    const o = compareCdfOption(
      [
        { label: 'a', color: 'red', pair: { withoutFusion: cdf(1), withFusion: null } },
        { label: 'b', color: 'blue', pair: { withoutFusion: cdf(3), withFusion: null } },
      ],
      'ttftMs',
      'TTFT',
    )!;
    expect(o.series).toHaveLength(2);
    expect(o.series[1].data[100]).toEqual([303, 1]);
    expect(
      compareCdfOption(
        [{ label: 'a', color: 'red', pair: { withoutFusion: cdf(1), withFusion: null } }],
        'tpotMs',
        'x',
      ),
    ).toBeNull();
    const kv = compareKvOption([
      {
        label: 'a',
        color: 'red',
        pair: { withoutFusion: { t: [0, 1], used: [50, 100], total: 200 }, withFusion: null },
      },
      {
        label: 'b',
        color: 'blue',
        pair: { withoutFusion: { t: [0, 1], used: [50, 100], total: 1000 }, withFusion: null },
      },
    ])!;
    expect(kv.series.map((s: { data: number[][] }) => s.data[1][1])).toEqual([0.5, 0.1]);
  });

  it('overlays plans of one mode and refuses to mix modes', () => {
    const plan = (mode: CapacityPlan['mode'], k: number): CapacityPlan => ({
      id: id(k),
      mode,
      status: 'succeeded',
      job: null,
      points: [],
      slo: null,
      createdAt: '',
      result: {
        mode: 'max-rate',
        answer: null,
        points: [1, 2].map((rateScale, index) => ({
          index,
          rateScale,
          meetsSlo: rateScale < 2,
          request_throughput: rateScale,
          request_goodput: rateScale,
          output_throughput: rateScale * 100 * k,
          p99_ttft_ms: 100 * rateScale,
          p99_tpot_ms: 20,
          p99_e2el_ms: 500,
          kv_peak_used_blocks: 10,
          preemptions: 0,
          completed: 10,
          failed: 0,
        })),
      },
    });
    const o = comparePlansOption([
      { label: 'p1', color: 'red', plan: plan('max-rate', 1) },
      { label: 'p2', color: 'blue', plan: plan('max-rate', 2) },
    ])!;
    expect(o.series.map((s: { name: string }) => s.name)).toEqual([
      'p1 · tok/s',
      'p1 · p99 TTFT',
      'p2 · tok/s',
      'p2 · p99 TTFT',
    ]);
    expect(o.series[2].data.map((d: { value: number[] }) => d.value)).toEqual([
      [1, 200],
      [2, 400],
    ]);
    expect(o.yAxis[0].max).toBeGreaterThanOrEqual(400);
    expect(
      comparePlansOption([
        { label: 'p1', color: 'red', plan: plan('max-rate', 1) },
        { label: 'p2', color: 'blue', plan: plan('min-gpus', 2) },
      ]),
    ).toBeNull();
  });
});
