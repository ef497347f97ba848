import { BadRequestException } from '@nestjs/common';
import { describe, expect, it } from 'vitest';
import { InputError } from '@kvplan/sim';
import { ConfigError, loadApiConfig } from '../src/config/config';
import { toErrorResponse } from '../src/common/exception.filter';
import { specIssues, workloadIssues } from '../src/common/sim-port';
import { serviceLimitIssues } from '../src/common/service-limits';
import { resultCsv } from '../src/modules/projections/projections.dto';

describe('loadApiConfig', () => {
  it('fills defaults from a minimal environment', () => {
    const c = loadApiConfig({ DATABASE_URL: 'postgres://u@h:5432/db', REDIS_URL: 'redis://h:6379' });
    expect(c.port).toBe(3000);
    expect(c.rateLimitMax).toBeGreaterThan(0);
  });
  it('refuses to start naming every bad variable', () => {
    try {
      loadApiConfig({ DATABASE_URL: 'mysql://x', PORT: '70000', RATE_LIMIT_MAX: 'lots', LOG_LEVEL: 'loud' });
      expect.unreachable();
    } catch (e) {
      expect(e).toBeInstanceOf(ConfigError);
      const msg = (e as ConfigError).problems.join('\n');
      expect(msg).toMatch(/^DATABASE_URL: expected a postgres: or postgresql: URL/m);
      expect(msg).toMatch(/^REDIS_URL: required/m);
      expect(msg).toMatch(/^PORT: expected an integer in \[0, 65535\], got "70000"/m);
      expect(msg).toMatch(/^RATE_LIMIT_MAX:/m);
      expect(msg).toMatch(/^LOG_LEVEL: expected one of/m);
    }
  });
});

describe('toErrorResponse', () => {
  it('maps input errors to 400 with their issues, and unknown errors to a bare 500', () => {
    const r = toErrorResponse(new InputError([{ path: 'engine.blockSize', message: 'too big' }]));
    expect(r).toEqual({
      statusCode: 400,
      error: 'Bad Request',
      message: 'invalid input',
      issues: [{ path: 'engine.blockSize', message: 'too big' }],
    });
    const bug = toErrorResponse(new TypeError('x is undefined at /secret/path.ts:12'));
    expect(bug).toEqual({ statusCode: 500, error: 'Internal Server Error', message: 'internal error' });
    expect(toErrorResponse(Object.assign(new Error('too large'), { statusCode: 413 })).statusCode).toBe(413);
    expect(toErrorResponse(new BadRequestException('nope')).error).toBe('Bad Request');
  });
});

describe('the service reads no file named in a request', () => {
  it('refuses file paths anywhere the simulator would read a file, as the resolver decides', () => {
    const issues = specIssues({
      model: ' ../../etc/passwd',
      gpu: 'h100-sxm',
      calibration: '/proc/self/environ',
      workload: {
        arrival: { process: 'constant', rate: 1 },
        numRequests: 1,
        inputTokens: { empirical: 'lens.csv' },
        outputTokens: { fixed: 2 },
      },
      fusion: { profile: 'p.json' },
    });
    expect(issues.map((i) => i.path).sort()).toEqual([
      'calibration',
      'fusion.profile',
      'model',
      'workload.inputTokens.empirical',
    ]);
    expect(
      workloadIssues({ trace: 'x.csv', inputTokens: { empirical: 'lens.csv' } }, false).map((i) => i.path),
    ).toEqual(['workload.trace', 'workload.inputTokens.empirical']);
  });
});

describe('serviceLimitIssues', () => {
  it('bounds engine and workload numbers by path', () => {
    const issues = serviceLimitIssues({
      replicas: 100_000,
      engine: { maxNumSeqs: 16 },
      workload: {
        arrival: { process: 'poisson', rate: 1e308 },
        numRequests: 5,
        inputTokens: { fixed: 1e9 },
        outputTokens: { uniform: [1, 2e6] },
      },
    });
    expect(issues.map((i) => i.path)).toEqual([
      'replicas',
      'workload.arrival.rate',
      'workload.inputTokens.fixed',
      'workload.outputTokens.uniform[1]',
    ]);
    const shapes = serviceLimitIssues({
      pipelineParallel: 128,
      kvOffload: { cpuGiB: 2e6, hostMemoryGiB: 512 },
    });
    expect(shapes.map((i) => i.path)).toEqual(['pipelineParallel', 'kvOffload.cpuGiB']);
    const stages = serviceLimitIssues({ workload: { stages: [{ rate: 1000, durationS: 10_000 }] } });
    expect(stages.map((i) => i.path)).toEqual(['workload.stages']);
  });

  it('bounds deployment shapes: data-parallel ranks, engines in all, topology numbers', () => {
    expect(
      serviceLimitIssues({ dataParallel: 65, topology: { nodes: 5000, gpusPerNode: 8 } }).map((i) => i.path),
    ).toEqual(['dataParallel', 'topology.nodes']);
    const engines = serviceLimitIssues({ replicas: 64, dataParallel: 8 });
    expect(engines).toEqual([
      expect.objectContaining({ path: 'dataParallel', message: expect.stringContaining('512 engines') }),
    ]);
    expect(serviceLimitIssues({ replicas: 32, dataParallel: 8, topology: { gpusPerNode: 8 } })).toEqual([]);
  });
});

describe('resultCsv', () => {
  it('lists numeric metrics of both runs', () => {
    const csv = resultCsv({
      withoutFusion: { request_throughput: 2, meta: {} },
      withFusion: { request_throughput: 3 },
    });
    expect(csv).toBe('metric,without_fusion,with_fusion\nrequest_throughput,2,3\n');
  });
});
