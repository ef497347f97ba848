import {
  ForbiddenException,
  Inject,
  Injectable,
  UnauthorizedException,
  type CanActivate,
  type ExecutionContext,
} from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { roleAtLeast, type Role } from '@kvplan/contracts';
import { WorkspaceRepository, hashApiKey } from '@kvplan/db';
import type { ApiConfig } from '../config/config';
import { API_CONFIG } from '../infra/tokens';
import { IS_PUBLIC, REQUIRED_ROLE, type AuthContext, type AuthedRequest } from './auth';

/**
 * `Authorization: Bearer <key>` on every route not marked @Public. The key is looked up by its
 * SHA-256 hash; found keys are cached for AUTH_CACHE_TTL_MS (so a revoked key stops working
 * within that time), unknown keys are never cached.
 */
@Injectable()
export class AuthGuard implements CanActivate {
  private readonly cache = new Map<string, { auth: AuthContext; until: number }>();

  constructor(
    private readonly reflector: Reflector,
    private readonly workspaces: WorkspaceRepository,
    @Inject(API_CONFIG) private readonly config: ApiConfig,
  ) {}

  async canActivate(ctx: ExecutionContext): Promise<boolean> {
    const targets = [ctx.getHandler(), ctx.getClass()];
    if (this.reflector.getAllAndOverride<boolean>(IS_PUBLIC, targets)) return true;
    const req = ctx.switchToHttp().getRequest<AuthedRequest>();
    const header = req.headers.authorization;
    const match = typeof header === 'string' ? /^Bearer\s+(\S+)\s*$/i.exec(header) : null;
    if (!match)
      throw new UnauthorizedException(
        'missing or malformed Authorization header: expected "Bearer <api key>"',
      );
    const auth = await this.lookup(match[1]);
    if (!auth) throw new UnauthorizedException('unknown or revoked API key');
    req.auth = auth;
    const need = this.reflector.getAllAndOverride<Role>(REQUIRED_ROLE, targets) ?? 'viewer';
    if (!roleAtLeast(auth.role, need))
      throw new ForbiddenException(`this needs the ${need} role; the key has ${auth.role}`);
    return true;
  }

  private async lookup(secret: string): Promise<AuthContext | null> {
    const hash = hashApiKey(secret);
    const now = Date.now();
    const hit = this.cache.get(hash);
    if (hit && hit.until > now) return hit.auth;
    const key = await this.workspaces.findActiveKey(secret);
    if (!key) {
      this.cache.delete(hash);
      return null;
    }
    const auth: AuthContext = { workspaceId: key.workspaceId, keyId: key.id, role: key.role };
    if (this.config.authCacheTtlMs > 0) {
      if (this.cache.size > 10_000) this.cache.clear();
      this.cache.set(hash, { auth, until: now + this.config.authCacheTtlMs });
    }
    return auth;
  }
}
