import { createHash, timingSafeEqual } from 'node:crypto';
import { bearerKey } from './api-keys';

/** Whether an Authorization header carries `secret` as its bearer token (constant time). */
export function bearerMatches(header: string | string[] | undefined, secret: string): boolean {
  const given = bearerKey(header);
  if (!given) return false;
  const digest = (s: string) => createHash('sha256').update(s).digest();
  return timingSafeEqual(digest(given), digest(secret));
}
