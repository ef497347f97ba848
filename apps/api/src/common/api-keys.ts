import { Inject, Injectable } from '@nestjs/common';
import { WorkspaceRepository, hashApiKey } from '@kvplan/db';
import type { ApiConfig } from '../config/config';
import { API_CONFIG } from '../infra/tokens';
import type { AuthContext } from './auth';

/** The key of an `Authorization: Bearer <key>` header, or null when the header is not one. */
export function bearerKey(header: string | string[] | undefined): string | null {
  const match = typeof header === 'string' ? /^Bearer\s+(\S+)\s*$/i.exec(header) : null;
  return match ? match[1] : null;
}

/**
 * API keys looked up by their SHA-256 hash. Found keys are cached for AUTH_CACHE_TTL_MS (so a
 * revoked key stops working within that time); unknown keys are never cached.
 */
@Injectable()
export class ApiKeys {
  private readonly cache = new Map<string, { auth: AuthContext; until: number }>();

  constructor(
    private readonly workspaces: WorkspaceRepository,
    @Inject(API_CONFIG) private readonly config: ApiConfig,
  ) {}

  /** The cached caller of this key, without a database round trip; undefined when not cached. */
  cached(secret: string): AuthContext | undefined {
    return this.hit(hashApiKey(secret));
  }

  async lookup(secret: string): Promise<AuthContext | null> {
    const hash = hashApiKey(secret);
    const hit = this.hit(hash);
    if (hit) return hit;
    const key = await this.workspaces.findActiveKey(secret);
    if (!key) {
      this.cache.delete(hash);
      return null;
    }
    const auth: AuthContext = { workspaceId: key.workspaceId, keyId: key.id, role: key.role };
    if (this.config.authCacheTtlMs > 0) {
      if (this.cache.size > 10_000) this.cache.clear();
      this.cache.set(hash, { auth, until: Date.now() + this.config.authCacheTtlMs });
    }
    return auth;
  }

  private hit(hash: string): AuthContext | undefined {
    const e = this.cache.get(hash);
    return e && e.until > Date.now() ? e.auth : undefined;
  }
}
