import { describe, expect, it } from 'vitest';
import {
  JOB_NAMES,
  PAYLOAD_VERSION,
  PayloadError,
  QUEUES,
  QUEUE_OF_JOB,
  capacityPointJobId,
  parsePayload,
  roleAtLeast,
} from '../src';

const ws = '6f1c1f7e-9a5c-4c1e-8d7a-0a0b0c0d0e0f';
const run = '0d8b7f3a-1b2c-4d5e-8f90-112233445566';

describe('queue and job names', () => {
  it('are the literal strings the worker and api agree on', () => {
    expect(Object.values(QUEUES).sort()).toEqual(['capacity', 'fusion', 'simulate']);
    expect(QUEUE_OF_JOB[JOB_NAMES.simulateCapacityPoint]).toBe('simulate');
    expect(QUEUE_OF_JOB[JOB_NAMES.capacityPlan]).toBe('capacity');
    expect(new Set(Object.values(JOB_NAMES)).size).toBe(Object.values(JOB_NAMES).length);
  });
});

describe('parsePayload', () => {
  it('accepts a well-formed payload', () => {
    const p = parsePayload(JOB_NAMES.simulateProjection, {
      v: PAYLOAD_VERSION,
      workspaceId: ws,
      runId: run,
      projectionId: run,
    });
    expect(p.projectionId).toBe(run);
  });

  it('names every bad field at once', () => {
    try {
      parsePayload(JOB_NAMES.simulateCapacityPoint, {
        v: 2,
        workspaceId: 'x',
        runId: run,
        capacityPlanId: run,
        pointIndex: -1,
      });
      expect.unreachable();
    } catch (e) {
      expect(e).toBeInstanceOf(PayloadError);
      const problems = (e as PayloadError).problems.join('\n');
      expect(problems).toMatch(/^v: expected 1/m);
      expect(problems).toMatch(/^workspaceId: expected a UUID/m);
      expect(problems).toMatch(/^pointIndex: expected a non-negative integer/m);
      expect((e as PayloadError).problems).toHaveLength(3);
    }
  });

  it('carries an optional request id, checked when present, without changing the version', () => {
    const base = { v: PAYLOAD_VERSION, workspaceId: ws, runId: run, capacityPlanId: run };
    expect(parsePayload(JOB_NAMES.capacityPlan, { ...base, requestId: 'req-42.a:b' }).requestId).toBe(
      'req-42.a:b',
    );
    expect(parsePayload(JOB_NAMES.capacityPlan, base).requestId).toBeUndefined();
    expect(() => parsePayload(JOB_NAMES.capacityPlan, { ...base, requestId: 'has space' })).toThrow(
      /requestId: expected/,
    );
    expect(() => parsePayload(JOB_NAMES.capacityPlan, { ...base, v: 2, requestId: 'ok' })).toThrow(
      /v: expected 1/,
    );
  });

  it('refuses unknown job names and non-objects', () => {
    expect(() => parsePayload('simulate.nope', {})).toThrow(/unknown job name/);
    expect(() => parsePayload(JOB_NAMES.capacityPlan, [1])).toThrow(/not an object/);
  });
});

describe('helpers', () => {
  it('orders roles viewer < planner < admin', () => {
    expect(roleAtLeast('admin', 'planner')).toBe(true);
    expect(roleAtLeast('viewer', 'planner')).toBe(false);
    expect(roleAtLeast('planner', 'planner')).toBe(true);
  });
  it('derives distinct deterministic child job ids', () => {
    expect(capacityPointJobId(run, 3)).toBe(`${run}-p3`);
    expect(capacityPointJobId(run, 3)).not.toBe(capacityPointJobId(run, 4));
  });
});
