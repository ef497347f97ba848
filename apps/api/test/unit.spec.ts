import { BadRequestException } from '@nestjs/common';
import { describe, expect, it } from 'vitest';
import { InputError } from '@kvplan/sim';
import { ConfigError, loadApiConfig } from '../src/config/config';
import { toErrorResponse } from '../src/common/exception.filter';
import { pathIssues } from '../src/common/sim-port';
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

describe('pathIssues', () => {
  it('refuses file paths anywhere the simulator would read a file', () => {
    const issues = pathIssues({
      model: '../../etc/passwd',
      gpu: 'h100-sxm',
      workload: { trace: 'x.csv', inputTokens: { empirical: 'lens.csv' } },
      fusion: { profile: 'p.json' },
    });
    expect(issues.map((i) => i.path).sort()).toEqual([
      'fusion.profile',
      'model',
      'workload.inputTokens.empirical',
      'workload.trace',
    ]);
    expect(pathIssues({ model: 'meta-llama/Llama-3.1-8B', gpu: { name: 'x' } })).toEqual([]);
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
