import { describe, expect, it } from 'vitest';
import { getMetadataArgsStorage } from 'typeorm';
import { API_KEY_PREFIX, ENTITIES, dataSourceOptions, generateApiKey, hashApiKey, likePattern } from '../src';

describe('api keys', () => {
  it('are random, prefixed and 256-bit', () => {
    const a = generateApiKey();
    const b = generateApiKey();
    expect(a).not.toBe(b);
    expect(a.startsWith(API_KEY_PREFIX)).toBe(true);
    expect(Buffer.from(a.slice(API_KEY_PREFIX.length), 'base64url')).toHaveLength(32);
  });
  it('hash to hex SHA-256', () => {
    expect(hashApiKey('abc')).toBe('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
  });
});

describe('likePattern', () => {
  it('escapes LIKE wildcards', () => {
    expect(likePattern('50%_a\\b')).toBe('%50\\%\\_a\\\\b%');
  });
});

describe('entities', () => {
  it('never synchronize and scope every owned table by workspace', () => {
    expect(dataSourceOptions({ url: 'postgres://x@h/db' }).synchronize).toBe(false);
    const columns = getMetadataArgsStorage().columns;
    const unscoped = ['WorkspaceEntity', 'CapacityPointEntity'];
    for (const entity of ENTITIES) {
      if (unscoped.includes(entity.name)) continue;
      const chain: unknown[] = [];
      for (let p: unknown = entity; p && p !== Function.prototype; p = Object.getPrototypeOf(p))
        chain.push(p);
      const hasWs = columns.some((c) => chain.includes(c.target) && c.propertyName === 'workspaceId');
      expect(hasWs, `${entity.name} has workspaceId`).toBe(true);
    }
  });
});
