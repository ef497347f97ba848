import { createHash, randomBytes } from 'node:crypto';

/** Keys look like `kvp_<43 base64url chars>`: 256 random bits. */
export const API_KEY_PREFIX = 'kvp_';

export function generateApiKey(): string {
  return API_KEY_PREFIX + randomBytes(32).toString('base64url');
}

/** Hex SHA-256: keys are high-entropy, so a fast unsalted hash is enough and lookups stay cheap. */
export function hashApiKey(key: string): string {
  return createHash('sha256').update(key, 'utf8').digest('hex');
}
