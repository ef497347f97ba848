import { SetMetadata, createParamDecorator, type ExecutionContext } from '@nestjs/common';
import type { Role } from '@kvplan/contracts';

/** Who is calling: set by the AuthGuard from the API key. */
export interface AuthContext {
  workspaceId: string;
  keyId: string;
  role: Role;
}

export interface AuthedRequest {
  auth?: AuthContext;
  headers: Record<string, string | string[] | undefined>;
  method: string;
  url: string;
  body?: unknown;
}

export const IS_PUBLIC = 'kvplan:public';
export const REQUIRED_ROLE = 'kvplan:role';

/** No API key needed (health, readiness, metrics, the event stream with its own token). */
export const Public = () => SetMetadata(IS_PUBLIC, true);

/** The least role that may call this handler (default: viewer, i.e. any valid key). */
export const RequireRole = (role: Role) => SetMetadata(REQUIRED_ROLE, role);

/** The caller's AuthContext (handlers behind the AuthGuard always have one). */
export const Auth = createParamDecorator((_: unknown, ctx: ExecutionContext): AuthContext => {
  const req = ctx.switchToHttp().getRequest<AuthedRequest>();
  if (!req.auth) throw new Error('Auth used on a public route');
  return req.auth;
});
