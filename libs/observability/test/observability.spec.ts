import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import {
  PinoNestLogger,
  createLogger,
  currentRequestId,
  parseHeartbeat,
  requestIdFrom,
  runWithContext,
  workerHeartbeatKey,
  workerHeartbeatPattern,
} from '../src';

/** A logger writing synchronously into an array of parsed lines. */
function capture(level: 'info' | 'debug' = 'info') {
  const lines: Array<Record<string, unknown>> = [];
  const destination = new Writable({
    write(chunk, _enc, cb) {
      for (const l of String(chunk).split('\n').filter(Boolean)) lines.push(JSON.parse(l));
      cb();
    },
  });
  return { lines, logger: createLogger({ service: 'test', level, destination }) };
}

describe('createLogger', () => {
  it('writes one JSON object per line with level name, ISO time, service and the async context', async () => {
    const { lines, logger } = capture();
    logger.info('outside');
    await runWithContext({ requestId: 'req-1' }, async () => {
      await new Promise((r) => setTimeout(r, 1));
      await runWithContext({ jobId: 'job-9' }, async () => {
        logger.info({ n: 3 }, 'inside');
      });
    });
    logger.debug('below the level');
    expect(lines).toHaveLength(2);
    expect(lines[0]).toMatchObject({ level: 'info', service: 'test', msg: 'outside' });
    expect(lines[0].requestId).toBeUndefined();
    expect(new Date(lines[0].time as string).toISOString()).toBe(lines[0].time);
    expect(lines[1]).toMatchObject({
      level: 'info',
      msg: 'inside',
      n: 3,
      requestId: 'req-1',
      jobId: 'job-9',
    });
  });

  it('redacts credentials wherever a logged object carries them', () => {
    const { lines, logger } = capture();
    logger.info({ headers: { authorization: 'Bearer kvp_secret' }, body: { token: 'abc' } }, 'x');
    const text = JSON.stringify(lines[0]);
    expect(text).not.toContain('kvp_secret');
    expect(text).not.toContain('abc');
    expect(text).toContain('[redacted]');
  });
});

describe('request ids', () => {
  it('keeps a sane incoming id and replaces anything else with a UUID', () => {
    expect(requestIdFrom('abc-123.x:y_z')).toBe('abc-123.x:y_z');
    expect(requestIdFrom(['first', 'second'])).toBe('first');
    for (const bad of [undefined, '', 'has space', 'x'.repeat(129), 'nl\ninjected'])
      expect(requestIdFrom(bad)).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('is visible to everything awaited inside runWithContext, and only there', async () => {
    expect(currentRequestId()).toBeUndefined();
    const seen = await runWithContext({ requestId: 'r-7' }, async () => {
      await Promise.resolve();
      return new Promise<string | undefined>((resolve) => setImmediate(() => resolve(currentRequestId())));
    });
    expect(seen).toBe('r-7');
    expect(currentRequestId()).toBeUndefined();
  });
});

describe('PinoNestLogger', () => {
  it("maps Nest's (message, context) and (message, stack, context) onto fields", () => {
    const { lines, logger } = capture('debug');
    const nest = new PinoNestLogger(logger);
    nest.log('booted', 'NestApplication');
    nest.error('went wrong', 'Error: x\n    at y', 'queue:simulate');
    nest.warn({ msg: 'structured', jobs: 2 }, 'metrics');
    nest.debug('details');
    expect(lines.map((l) => l.level)).toEqual(['info', 'error', 'warn', 'debug']);
    expect(lines[0]).toMatchObject({ msg: 'booted', context: 'NestApplication' });
    expect(lines[1]).toMatchObject({
      msg: 'went wrong',
      context: 'queue:simulate',
      stack: 'Error: x\n    at y',
    });
    expect(lines[2]).toMatchObject({ msg: 'structured', jobs: 2, context: 'metrics' });
    expect(lines[3].context).toBeUndefined();
  });
});

describe('heartbeats', () => {
  it('names keys under the queue prefix and parses only well-formed documents', () => {
    expect(workerHeartbeatKey('kvplan', 'h:1:ab')).toBe('kvplan:workers:h:1:ab');
    expect(workerHeartbeatPattern('kvplan')).toBe('kvplan:workers:*');
    const hb = {
      workerId: 'w',
      hostname: 'h',
      pid: 1,
      queues: ['simulate'],
      startedAt: 'a',
      sentAt: 'b',
      active: 0,
      completed: 2,
      failed: 1,
    };
    expect(parseHeartbeat(JSON.stringify(hb))).toEqual(hb);
    expect(parseHeartbeat(null)).toBeNull();
    expect(parseHeartbeat('{not json')).toBeNull();
    expect(parseHeartbeat(JSON.stringify({ ...hb, active: 'many' }))).toBeNull();
  });
});
